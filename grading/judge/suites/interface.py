"""The layer interface from a model's point of view (the book's TwoLayerNet):

* before the first forward, the model gathers every layer's `params` and `grads` with
  `+=`, also from a layer without parameters (Sigmoid: two empty lists);
* grads[i] pairs with params[i]: same shape, same dtype (the optimizer steps them
  together), and params holds the very arrays the layer was given;
* the layer is used again and again, on batches of different sizes (whether the
  gathered grads arrays receive the gradients is test_grads_written_in_place's job, and
  the network test's).
"""
import numpy as np

from grading.judge.suites import checks as C

D, H = 3, 4
BATCHES = (4, 1)    # a model evaluates and trains on batches of other sizes


def _reference(cls, x, W, b, dout):
    """out and dx of the judge's own formulas."""
    if cls == "Sigmoid":
        y = C.sigmoid(x)
        return y, dout * y * (1 - y)
    return x @ W + (b if cls == "Affine" else 0.0), dout @ W.T


KOREAN = ("모델은 첫 forward 전에 모든 계층의 params와 grads를 += 로 모으고, 같은 계층을 "
          "여러 크기의 배치로 여러 번 씁니다")


def _fail(message):
    return C.fail(f"{message} / {KOREAN}")


def _kind(value):
    return "None" if str(value) == "NoneType" else f"a {value}"


def _differs(got, want):
    if not isinstance(got, np.ndarray):
        return f"returned {got}, expected an array of shape {want.shape}"
    return f"differs from the right values ({C._differs(got, want)})"


def check_interface(subject, rng, cls):
    W, b = rng.standard_normal((D, H)), rng.standard_normal(H)
    given = {"MatMul": [W], "Affine": [W, b], "Sigmoid": []}[cls]
    try:
        layer = C.Student(subject, cls, *given)
        gathered = _gather(layer, cls, given)
        if gathered is not None:
            _use_repeatedly(layer, cls, W, b, rng)
    except AssertionError as exc:
        _fail(f"a model could not use your {cls}: {exc}")


def _gather(layer, cls, given):
    """What `params += layer.params; grads += layer.grads` finds before any forward."""
    found = {}
    for attr in ("params", "grads"):
        items = layer.read(attr)
        if not isinstance(items, list):
            return _fail(f"a model gathers {cls}.{attr} with += before the first forward, "
                          f"but it is {_kind(items)}: keep "
                          + (f"a list of {len(given)} array(s) there" if given else
                             "an empty list there (a layer without parameters has empty lists)"))
        if len(items) != len(given):
            return _fail(f"a model gathers {len(items)} array(s) from {cls}.{attr} before "
                          f"the first forward, expected {len(given)} (one per parameter)")
        found[attr] = items
    ok = True
    for i, (p, g, want) in enumerate(zip(found["params"], found["grads"], given)):
        if not isinstance(p, np.ndarray) or not np.array_equal(p, want):
            ok = _fail(f"{cls}.params[{i}] is not the array the layer was given: a model "
                        "updates the arrays it gathers from params")
        elif not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype != p.dtype:
            shape, dtype = np.shape(g), getattr(g, "dtype", type(g).__name__)
            ok = _fail(f"{cls}.grads[{i}] has shape {shape} and dtype {dtype}, but params[{i}] "
                        f"has shape {p.shape} and dtype {p.dtype}: a model's optimizer steps "
                        "each parameter with the gradient at the same position")
    return found if ok else None


def _use_repeatedly(layer, cls, W, b, rng):
    """Forward and backward on batches of several sizes give the right out and dx."""
    before = None
    for N in BATCHES:
        x = (C.sigmoid_input(rng, (N, H)) if cls == "Sigmoid" else rng.standard_normal((N, D)))
        dout = rng.standard_normal((N, H))
        out_r, dx_r = _reference(cls, x, W, b, dout)
        when = f"on a batch of {N}" + (f" after one of {before}" if before else "")
        try:
            out = layer.forward(x)
            if not C.close(out, out_r):
                return _fail(f"a model uses each layer many times: {cls}.forward {when} "
                              f"{_differs(out, out_r)}")
            dx = layer.backward(dout)
        except AssertionError as exc:
            return _fail(f"a model uses each layer many times, {when}: {exc}")
        if not C.close(dx, dx_r):
            return _fail(f"a model uses each layer many times: {cls}.backward {when} "
                          f"{_differs(dx, dx_r)}")
        before = N
    return True
