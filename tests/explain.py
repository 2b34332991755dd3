"""Turning a wrong result into a message a student can act on (shared by the layer tests).

PYTEST_DONT_REWRITE
"""
import numpy as np

from gradcheck import TOLERANCE, rel_error, scale_between


def describe(a):
    """A short description of a value: its shape and dtype, or its type."""
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    return f"shape {a.shape}, dtype {a.dtype}" + ("" if not np.any(a) else ", not all zeros")


def gradient_problem(cls, grad, analytic, numeric, hint, batch=None):
    """Why `analytic` (from backward) is not the numerical gradient, or None if it is.

    cls: "MatMul" or "Affine"; grad: "dx", "dW" or "db"; batch: N, when averaging over
    the batch is a mistake worth naming.
    """
    if analytic is None:
        return (f"{cls}.backward returned None: return dx" if grad == "dx"
                else f"{cls}.grads has no array for {grad}: see __init__")
    if analytic.shape != numeric.shape:
        return f"{cls}.backward: {grad} has shape {analytic.shape}, should be {numeric.shape}: {hint}"
    err = rel_error(analytic, numeric)
    if err <= TOLERANCE:
        return None
    if grad != "dx" and not np.any(numeric):
        return (f"{cls}.forward ignores the arrays in self.params (changing them changes "
                "nothing): read the parameters from self.params")
    scale = scale_between(analytic, numeric)
    if scale == 0:
        why = f"{grad} is all zeros"
    elif scale is not None and np.isclose(scale, -1):
        why = f"{grad} has the wrong sign"
    elif batch and scale is not None and np.isclose(scale, 1 / batch):
        why = f"{grad} looks averaged over the batch (divided by N={batch}); the gradient is the sum"
    else:
        why = f"{grad} differs from the numerical gradient (relative error {err:.1e})"
    return f"{cls}.backward: {why}: {hint}"
