"""The public checks of a layer's interface, seen from the book's TwoLayerNet: params and
grads gathered with += before the first forward, grads written in place, batches one after
another, arguments left unchanged. See kata_checks for how checks work."""
import numpy as np

from kata_checks import N, backward, data, describe, fail, forward, make
from kata_guard import attribute


def interface(cls, Layer):
    x, W, b, _ = data(0, sigmoid=cls == "Sigmoid")
    layer = make(cls, Layer, W, b)
    params, grads = attribute(layer, "params", cls), attribute(layer, "grads", cls)
    given = {"MatMul": [("W", W)], "Affine": [("W", W), ("b", b)], "Sigmoid": []}[cls]
    names = "[" + ", ".join(n for n, _ in given) + "]"
    for attr, value in (("params", params), ("grads", grads)):
        if not isinstance(value, (list, tuple)) or len(value) != len(given):
            fail(f"{cls}.{attr} should be a list of {len(given)} arrays ({attr} = "
                 f"{names if attr == 'params' else 'one gradient per parameter'}), got {value!r:.60}",
                 f"{cls}.{attr}는 배열 {len(given)}개의 리스트여야 합니다")
    for i, (name, p) in enumerate(given):
        if not (np.shape(params[i]) == p.shape and np.array_equal(params[i], p)):
            fail(f"{cls}.params[{i}] should be the {name} given to __init__ (params = {names})",
                 f"{cls}.params[{i}]는 __init__에 받은 {name} 이어야 합니다")
        g = grads[i]
        if not (isinstance(g, np.ndarray) and g.shape == p.shape and g.dtype == p.dtype):
            fail(f"{cls}.grads[{i}] should be an array of {name}'s shape {p.shape} and dtype "
                 f"{p.dtype}, got {describe(g)}",
                 f"{cls}.grads[{i}]는 {name}와 같은 모양 {p.shape}, 같은 dtype 이어야 합니다")
        if np.any(g):
            fail(f"{cls}.grads[{i}] should start as zeros", f"{cls}.grads[{i}]는 0으로 시작해야 합니다")
        if g is params[i] or np.shares_memory(g, params[i]):
            fail(f"{cls}.grads[{i}] is the same array as params[{i}]: the gradient needs an "
                 "array of its own", f"{cls}.grads[{i}]가 params[{i}]와 같은 배열입니다. 따로 만드세요")
    if given:   # float32 parameters, as the book's later chapters use: grads follow them
        small = make(cls, Layer, W.astype(np.float32), b.astype(np.float32))
        for i, g in enumerate(attribute(small, "grads", cls)):
            if getattr(g, "dtype", None) != np.float32:
                fail(f"{cls}.grads[{i}] has dtype {getattr(g, 'dtype', type(g).__name__)} for float32 "
                     f"parameters: each gradient has its parameter's shape and dtype",
                     f"float32 매개변수인데 {cls}.grads[{i}]의 dtype이 다릅니다. 기울기는 매개변수와 "
                     "모양, dtype이 같아야 합니다", f"grads[{i}] dtype differs from params[{i}]")


def in_a_model(cls, Layer):
    """The book's TwoLayerNet: gather params and grads with += before the first forward,
    then forward/backward on two batches; the gathered arrays must see each backward's
    result, and the second batch must give what a fresh layer gives."""
    _, W, b, _ = data(6, sigmoid=cls == "Sigmoid")
    layer = make(cls, Layer, W, b)
    params, grads = [], []
    try:
        params += attribute(layer, "params", cls)
        grads += attribute(layer, "grads", cls)
    except TypeError:
        fail(f"a model cannot gather {cls}.params and {cls}.grads with params += layer.params "
             "before the first forward: both must be lists from __init__ on",
             f"모델이 첫 forward 전에 params += layer.params 로 모을 수 없습니다. 둘 다 __init__에서 리스트여야 합니다")
    if len(params) != len(grads):
        fail(f"{cls}: {len(params)} params but {len(grads)} grads: one gradient per parameter",
             f"{cls}: params {len(params)}개, grads {len(grads)}개. 매개변수마다 기울기가 하나입니다")
    first = None
    for step, (seed, n) in enumerate(((6, N), (8, 2))):   # two batches, of two sizes
        bx, _, _, bdout = data(seed, n, sigmoid=cls == "Sigmoid")
        out = forward(cls, layer, bx)
        if first is None:
            first = (out, np.array(out, dtype=float, copy=True))
        dx = backward(cls, layer, bdout, bx)
        fresh = make(cls, Layer, W, b)      # what a layer that saw only this batch gives
        want_out, want_dx = forward(cls, fresh, bx), backward(cls, fresh, bdout, bx)
        for i, (p, g) in enumerate(zip(params, grads)):
            if not (isinstance(g, np.ndarray) and g.shape == np.shape(p) and g.dtype == p.dtype):
                fail(f"{cls}.grads[{i}] does not match params[{i}] after backward: {describe(g)} "
                     f"for a parameter of shape {np.shape(p)}, dtype {p.dtype}",
                     f"backward 후 {cls}.grads[{i}]가 params[{i}]와 모양이나 dtype이 다릅니다")
            if p is not layer.params[i]:
                fail(f"{cls} replaced params[{i}]: the model's gathered list still holds the old array",
                     f"{cls}가 params[{i}]를 새 배열로 바꿨습니다. 모델이 모은 리스트는 옛 배열을 들고 있습니다")
            if not np.any(g) and np.any(layer.grads[i]):
                fail(f"the model's gathered grads[{i}] stay zero while {cls}.grads[{i}] changes: "
                     f"backward must write into the array that was there (grads[{i}][...] = ...)",
                     f"모델이 모은 grads[{i}]는 0인데 {cls}.grads[{i}]만 바뀝니다. 있던 배열에 [...] = 로 쓰세요",
                     f"grads[{i}] replaced (rebinding)")
        same = (np.allclose(np.asarray(out, float), np.asarray(want_out, float))
                and np.allclose(np.asarray(dx, float), np.asarray(want_dx, float))
                and all(np.allclose(g, f) for g, f in zip(grads, fresh.grads)))
        if step and not np.array_equal(np.asarray(first[0], float), first[1]):
            fail(f"{cls}.forward changed the output it returned for the previous batch: return a "
                 "new array on every call (a model keeps each layer's output until backward)",
                 f"{cls}.forward가 이전 배치에 반환한 출력을 바꿨습니다. 호출마다 새 배열을 반환하세요",
                 "reuses one output array")
        if step and not same:
            fail(f"{cls}: forward and backward on a second batch give other results than a fresh "
                 "layer's: a layer keeps only what the latest forward gave it (nothing from an "
                 "earlier batch, no += into grads)",
                 f"{cls}: 두 번째 배치의 forward/backward 결과가 새 계층의 결과와 다릅니다. 계층은 마지막 "
                 "forward의 값만 써야 합니다 (이전 배치의 값이나 grads에 += 금지)", "state kept between batches")


def unchanged_arguments(cls, Layer):
    x, W, b, dout = data(7, sigmoid=cls == "Sigmoid")
    layer = make(cls, Layer, W, b)
    forward(cls, layer, x)
    backward(cls, layer, dout, x)


def writes_grads_in_place(cls, Layer):
    x, W, b, dout = data(5)
    layer = make(cls, Layer, W, b)
    grads_list = attribute(layer, "grads", cls)
    arrays = list(grads_list)
    forward(cls, layer, x)
    backward(cls, layer, dout, x)
    first = [np.array(a, copy=True) for a in arrays]
    forward(cls, layer, x)
    backward(cls, layer, dout, x)   # the same call again must give the same grads
    if layer.grads is not grads_list:
        fail(f"{cls}.backward replaced the list self.grads: keep it and write into its arrays "
             "(self.grads[i][...] = ...)",
             f"{cls}.backward가 self.grads 리스트를 바꿨습니다. 리스트는 두고 배열에 [...] = 로 쓰세요")
    for i, name in enumerate(["dW", "db"][:len(arrays)]):
        if layer.grads[i] is not arrays[i]:
            fail(f"{cls}.backward replaced self.grads[{i}] with a new array: write {name} into the "
                 f"existing one (self.grads[{i}][...] = ...); a model gathers grads once "
                 "(grads += layer.grads) and never sees a new array",
                 f"{cls}.backward가 self.grads[{i}]를 새 배열로 바꿨습니다. 기존 배열에 [...] = 로 쓰세요. "
                 "모델은 grads를 한 번만 모으므로 새 배열을 보지 못합니다", f"grads[{i}] replaced (rebinding)")
        if not np.any(first[i]):
            fail(f"{cls}.backward left self.grads[{i}] all zeros: store {name} there",
                 f"{cls}.backward가 self.grads[{i}]를 0으로 두었습니다. {name}를 저장하세요")
        if np.allclose(arrays[i], 2 * first[i]):
            fail(f"{cls}.backward adds to self.grads[{i}] on every call: overwrite it ([...] =, not +=)",
                 f"{cls}.backward가 호출마다 self.grads[{i}]에 더합니다. += 대신 [...] = 로 덮어쓰세요")
