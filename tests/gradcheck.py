"""Numerical gradient helpers for checking backward passes.

Kept apart from the tests on purpose: nothing here knows about a specific
layer, and nothing here decides pass or fail. The tests do that.

How the check works: pick a random array G of the output's shape and use
the scalar loss L = sum(forward(x) * G). Then dL/d(out) = G exactly, so
backward(G) must return dL/dx and leave dL/dW in the layer's grads. Central
differences of L give the same gradients numerically.

Compare the two with ``rel_error`` (one number for the whole array, relative
to the arrays' norms). Correct float64 code stays below about 1e-10 here
and the smallest real bug gives about 1e-2, so 1e-6 separates them safely.
"""
import numpy as np

TOLERANCE = 1e-6


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar f(x) with respect to x.

    x must be a float64 array. It is perturbed IN PLACE, one element at a
    time, and restored afterwards: pass the very array the computation
    reads (for a layer's weight, the array in layer.params).
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs float64, got {x.dtype}")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + h
        f_plus = float(f(x))
        x[idx] = original - h
        f_minus = float(f(x))
        x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(analytic, numeric):
    """norm(a - n) / (norm(a) + norm(n)); 0.0 when both are all zeros."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(a - n) / denom)


def layer_gradients(layer, x, rng, names=None, h=1e-5, call=None):
    """Analytic and numerical gradients of L = sum(layer.forward(x) * G).

    Runs forward(x) and backward(G) once for the analytic gradients, then
    central differences for x and for every array in layer.params.

    Returns a dict {"dx": (analytic, numeric), "dW": (...), ...}; the keys
    of the parameters are "d" + names[i] (default "dp0", "dp1", ...).
    The analytic arrays are copies taken right after backward; an analytic
    value is None when backward did not return it (dx) or when the grads
    list is shorter than params. call(what, fn, *args) makes each call into the layer
    (default: a plain call; the checks pass one with a time limit).
    """
    if call is None:
        def call(what, fn, *args, **_):
            return fn(*args)
    cls = type(layer).__name__
    x = np.array(x, dtype=np.float64)  # private copy, perturbed below
    if names is None:
        names = [f"p{i}" for i in range(len(layer.params))]

    out = call(f"{cls}.forward", layer.forward, x.copy())
    G = rng.standard_normal(np.shape(out))
    dx = call(f"{cls}.backward", layer.backward, G.copy())
    analytic = {"dx": None if dx is None else np.array(dx, dtype=np.float64)}
    for i, name in enumerate(names):
        grad = layer.grads[i] if i < len(layer.grads) else None
        analytic["d" + name] = None if grad is None else np.array(grad, dtype=np.float64)

    def loss(_):
        return np.sum(call(f"{cls}.forward", layer.forward, x) * G)

    result = {"dx": (analytic["dx"], numerical_gradient(loss, x, h))}
    for i, name in enumerate(names):
        numeric = numerical_gradient(loss, layer.params[i], h)
        result["d" + name] = (analytic["d" + name], numeric)
    return result


def scale_between(analytic, numeric):
    """The factor c with analytic ~= c * numeric, or None if there is none.

    Tells apart typical slips in a wrong gradient: c = 0 (nothing written),
    c = -1 (sign flipped), c = 1/N (averaged over the batch instead of
    summed). Arrays of different shapes have no factor.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape or not np.any(n):
        return None
    c = float(np.sum(a * n) / np.sum(n * n))
    return c if rel_error(a, c * n) <= TOLERANCE else None
