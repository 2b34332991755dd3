"""The public checks of the four classes, one function per property.

`make test` runs them through tests/test_*.py (one test each); the notebook runs them all
from its helper cell (generated from this file by grading/course/build_assignment.py).
Each check takes the class under test and raises kata_guard.Failure when it is wrong.
Every call goes through kata_guard.call: a time limit, arguments that must stay
unchanged, and errors explained. Expected values come from copies taken before the call.

Shapes: x (N, D), W (D, H), b (H,), out and dout (N, H), with N = 5 (or 1), D = 3,
H = 4: no two sizes are equal, so a missing transpose shows.
"""
import numpy as np

from gradcheck import TOLERANCE, layer_gradients, rel_error, scale_between
from kata_guard import Failure, attribute, call, say, shape_mistake

N, D, H = 5, 3, 4
DIMS = {"N": N, "D": D, "H": H}
CHECKS = {"MatMul": [], "Sigmoid": [], "Affine": [], "SGD": []}   # class -> [(label, check)]


def check(cls, label):
    def register(func):
        CHECKS[cls].append((label, func))
        return func
    return register


def fail(en, ko, detail="", extra=""):
    """Raise Failure(en + ko [+ extra, a said() pair]); detail: the summary's short cause."""
    __tracebackhide__ = True
    raise Failure(say(en, ko) + (f"\n{extra}" if extra else ""), "fail", detail or en[:90])


def data(seed, n=N, sigmoid=False):
    """x (n, D), W (D, H), b (H,), dout (n, H) (for Sigmoid: dout (n, D)), float64."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (n, D)) if sigmoid else rng.standard_normal((n, D))
    W, b = rng.standard_normal((D, H)), rng.standard_normal(H)
    return x, W, b, rng.standard_normal((n, D) if sigmoid else (n, H))


def make(cls, Layer, W, b):
    params = {"MatMul": (W,), "Affine": (W, b), "Sigmoid": ()}[cls]
    return call(f"{cls}({', '.join('Wb'[i] for i in range(len(params)))})", Layer,
                *[p.copy() for p in params])


def context(cls, x, layer):
    shapes = {"x": np.shape(x)}
    grads = {}
    for i, (name, p) in enumerate(zip("Wb", getattr(layer, "params", []) or [])):
        shapes[name] = np.shape(p)
        grads[f"grads[{i}]"] = ("d" + name, np.shape(p))
    shapes["dout"] = (np.shape(x)[0], H) if cls != "Sigmoid" else np.shape(x)
    return {"shapes": shapes, "grads": grads, "dims": dict(DIMS, N=np.shape(x)[0])}


def forward(cls, layer, x):
    return call(f"{cls}.forward", layer.forward, x, protect={"x": x},
                context=context(cls, x, layer))


def backward(cls, layer, dout, x):
    return call(f"{cls}.backward", layer.backward, dout,
                protect={"dout": dout, "x (given to forward)": x},
                context=context(cls, x, layer))


def as_array(what, value, shape, en_hint, ko_hint):
    """value as an array of `shape`, or a Failure naming what came back."""
    __tracebackhide__ = True
    if value is None:
        fail(f"{what} returned None: return {en_hint}, shape {shape}",
             f"{what}가 None을 반환했습니다. {ko_hint}(모양 {shape})를 반환하세요", f"{what} returned None")
    if np.shape(value) != shape:
        return None
    return np.asarray(value, dtype=np.float64)


# --- every layer: the interface a model relies on ------------------------------------------

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


def describe(a):
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    return f"shape {a.shape}, dtype {a.dtype}"


def gradient_problem(cls, grad, analytic, numeric, batch=None):
    """Why backward's `grad` differs from the numerical gradient, or None when it does not."""
    if analytic is None:
        return (say(f"{cls}.backward returned None: return dx", f"{cls}.backward가 None을 반환했습니다. dx를 반환하세요")
                if grad == "dx" else say(f"{cls}.grads has no array for {grad}", f"{cls}.grads에 {grad} 배열이 없습니다"))
    if analytic.shape != numeric.shape:
        return say(f"{cls}.backward: {grad} has shape {analytic.shape}, should be {numeric.shape}",
                   f"{cls}.backward: {grad}의 모양이 {analytic.shape} 인데 {numeric.shape} 이어야 합니다") \
            + "\n" + shape_mistake(grad, analytic.shape, numeric.shape, DIMS)
    err = rel_error(analytic, numeric)
    if err <= TOLERANCE:
        return None
    if grad != "dx" and not np.any(numeric):
        return say(f"{cls}.forward ignores the arrays in self.params (changing them changes nothing): "
                   "read the parameters from self.params",
                   f"{cls}.forward가 self.params의 배열을 쓰지 않습니다. 매개변수는 self.params에서 읽으세요")
    scale = scale_between(analytic, numeric)
    if scale == 0:
        why = (f"{grad} is all zeros", f"{grad}가 모두 0입니다")
    elif scale is not None and np.isclose(scale, -1):
        why = (f"{grad} has the wrong sign", f"{grad}의 부호가 반대입니다")
    elif batch and scale is not None and np.isclose(scale, 1 / batch):
        why = (f"{grad} looks averaged over the batch (divided by N={batch}); the gradient is the sum",
               f"{grad}가 배치 평균(N={batch}으로 나눔)인 것 같습니다. 기울기는 합입니다")
    else:
        why = (f"{grad} differs from the numerical gradient (relative error {err:.1e})",
               f"{grad}가 수치 미분과 다릅니다 (상대 오차 {err:.1e})")
    return say(f"{cls}.backward: {why[0]}", f"{cls}.backward: {why[1]}")


def gradient_check(cls, Layer, grad):
    x, W, b, _ = data(4, sigmoid=cls == "Sigmoid")
    layer = make(cls, Layer, W, b)
    names = {"MatMul": ["W"], "Affine": ["W", "b"], "Sigmoid": []}[cls]
    out = forward(cls, layer, x.copy())
    want = x.shape if cls == "Sigmoid" else (N, H)
    if as_array(f"{cls}.forward", out, want, "the output", "출력") is None:
        fail(f"{cls}.forward: out has shape {np.shape(out)}, should be {want} (fix forward first)",
             f"{cls}.forward: 출력 모양이 {np.shape(out)} 인데 {want} 이어야 합니다 (forward부터 고치세요)")
    def guarded(what, fn, arg):
        label = "x" if what.endswith("forward") else "dout"
        return call(what, fn, arg, protect={label: arg}, context=context(cls, x, layer))

    analytic, numeric = layer_gradients(layer, x, np.random.default_rng(40), names=names,
                                        call=guarded)[grad]
    problem = gradient_problem(cls, grad, analytic, numeric, batch=N if cls == "Affine" else None)
    if problem and cls == "Sigmoid" and analytic is not None and analytic.shape == x.shape:
        G = np.random.default_rng(40).standard_normal(x.shape)
        if rel_error(analytic, G * x * (1 - x)) <= TOLERANCE:
            problem = say("Sigmoid.backward: dx looks computed from the input x: the derivative "
                          "y(1 - y) is written with the output y = sigmoid(x), kept by forward",
                          "Sigmoid.backward: dx를 입력 x로 계산한 것 같습니다. 미분 y(1 - y)의 y는 "
                          "forward가 저장한 출력입니다")
    if problem:
        detail = problem.splitlines()[0].partition(": ")[2]
        raise Failure(problem, "fail", detail[:90])


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


def forward_shape(cls, Layer):
    for n in (N, 1):   # a batch of one exposes squeezed or summed-away axes
        x, W, b, _ = data(1, n, sigmoid=cls == "Sigmoid")
        out = forward(cls, make(cls, Layer, W, b), x)
        want = x.shape if cls == "Sigmoid" else (n, H)
        if as_array(f"{cls}.forward", out, want, "the output", "출력") is None:
            fail(f"{cls}.forward: out has shape {np.shape(out)} but should be {want} for x {x.shape}"
                 + ("" if cls == "Sigmoid" else f" and W {W.shape}"),
                 f"{cls}.forward: 출력 모양이 {np.shape(out)} 인데 {want} 이어야 합니다")


def forward_values(cls, Layer):
    x, W, b, _ = data(2, sigmoid=cls == "Sigmoid")
    if cls == "Sigmoid":
        x[0] = [0.0, np.log(3), -np.log(3)]
    out = as_array(f"{cls}.forward", forward(cls, make(cls, Layer, W, b), x.copy()), x.shape
                   if cls == "Sigmoid" else (N, H), "the output", "출력")
    if out is None:
        fail(f"{cls}.forward: out has the wrong shape (see the forward shape check)",
             f"{cls}.forward: 출력 모양이 틀렸습니다 (forward shape 검사를 보세요)")
    if cls == "Sigmoid":
        want = 1 / (1 + np.exp(-x))
        if not np.allclose(out[0], [0.5, 0.75, 0.25]):
            fail(f"Sigmoid.forward: sigmoid(0), sigmoid(ln 3), sigmoid(-ln 3) should be 0.5, 0.75, "
                 f"0.25, got {np.round(out[0], 4).tolist()}: out = 1 / (1 + exp(-x)), element-wise",
                 "Sigmoid.forward: sigmoid(0), sigmoid(ln 3), sigmoid(-ln 3)는 0.5, 0.75, 0.25 입니다")
    else:
        want = x @ W + (b if cls == "Affine" else 0)
        if cls == "Affine" and np.allclose(out, x @ W):
            fail("Affine.forward: the bias b is not added (out = x @ W + b)",
                 "Affine.forward: 편향 b를 더하지 않았습니다 (out = x @ W + b)")
    if not np.allclose(out, want):
        fail(f"{cls}.forward: values differ from the definition in the docstring (largest "
             f"difference {np.max(np.abs(out - want)):.3g}); the parameters are in self.params",
             f"{cls}.forward: 값이 정의와 다릅니다 (최대 차이 {np.max(np.abs(out - want)):.3g}). "
             "매개변수는 self.params에 있습니다")


def backward_shapes(cls, Layer):
    for n in (N, 1):
        x, W, b, dout = data(3, n, sigmoid=cls == "Sigmoid")
        layer = make(cls, Layer, W, b)
        forward(cls, layer, x)
        dx = backward(cls, layer, dout, x)
        as_array(f"{cls}.backward", dx, x.shape, "dx", "dx")
        if np.shape(dx) != x.shape:
            extra = (say("the derivative acts element by element (no matrix product)",
                         "미분은 원소별로 곱합니다 (행렬 곱이 아닙니다)") if cls == "Sigmoid"
                     else shape_mistake("dx", np.shape(dx), x.shape, dict(DIMS, N=n)))
            fail(f"{cls}.backward: dx has shape {np.shape(dx)} but x has shape {x.shape}",
                 f"{cls}.backward: dx의 모양이 {np.shape(dx)} 인데 x의 모양은 {x.shape} 입니다",
                 f"dx has shape {np.shape(dx)}, x has {x.shape}", extra)
        for i, (name, p) in enumerate(zip("Wb", layer.params)):
            got = np.shape(layer.grads[i])
            if got != p.shape:
                fail(f"{cls}.backward: d{name} (grads[{i}]) has shape {got} but {name} has shape "
                     f"{p.shape}", f"{cls}.backward: d{name}의 모양이 {got} 인데 {name}의 모양은 {p.shape} 입니다",
                     f"d{name} has shape {got}, {name} has {p.shape}",
                     shape_mistake("d" + name, got, p.shape, dict(DIMS, N=n)))


def _register_layers():
    for cls in ("MatMul", "Sigmoid", "Affine"):
        grads = ["dx"] + {"MatMul": ["dW"], "Affine": ["dW", "db"], "Sigmoid": []}[cls]
        steps = [("interface", interface), ("in a model", in_a_model),
                 ("forward shape", forward_shape), ("forward values", forward_values),
                 ("backward shapes", backward_shapes)]
        steps += [(f"backward gradient check ({g})",
                   lambda c, L, g=g: gradient_check(c, L, g)) for g in grads]
        if cls != "Sigmoid":
            steps.append(("backward writes grads in place", writes_grads_in_place))
        steps.append(("arguments unchanged", unchanged_arguments))
        for label, func in steps:
            check(cls, label)(lambda Layer, cls=cls, func=func: func(cls, Layer))


_register_layers()
