"""What every public check shares: the registry, the test data, guarded calls.

The checks themselves: kata_model (the interface a model relies on), kata_layers (forward,
backward and gradients), kata_sgd. `make test` runs them through tests/test_*.py (one
test each); the notebook runs them all from its helper cell (generated from these files
by grading/course/build_assignment.py). Each check takes the class under test and raises
kata_guard.Failure when it is wrong.
Every call goes through kata_guard.call: a time limit, arguments that must stay
unchanged, and errors explained. Expected values come from copies taken before the call.

Shapes: x (N, D), W (D, H), b (H,), out and dout (N, H), with N = 5 (or 1), D = 3,
H = 4: no two sizes are equal, so a missing transpose shows.
"""
import numpy as np

from kata_guard import Failure, call, say

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


def describe(a):
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    return f"shape {a.shape}, dtype {a.dtype}"
