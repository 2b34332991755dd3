"""Public tests for Sigmoid (layers.py): out = 1 / (1 + exp(-x)).

Inputs stay within |x| <= 3: moderate values, where the plain formula
is exact enough and never overflows.
PYTEST_DONT_REWRITE: every assert carries its own message.
"""
import numpy as np
import pytest
from pytest_check import check

from gradcheck import TOLERANCE, layer_gradients, rel_error, scale_between

N, D = 5, 3


def data(seed, n=N):
    """x (n, D) in [-3, 3] and dout (n, D), float64."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-3, 3, (n, D)), rng.standard_normal((n, D))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_interface(layers):
    layer = layers.Sigmoid()
    # A typo in __init__ (say self.parans) fails on this line, with a hint.
    _ = (layer.params, layer.grads)
    with check:
        assert layer.params == [] and isinstance(layer.params, list), (
            f"Sigmoid.params should be an empty list (no parameters), got {layer.params!r:.60}")
    with check:
        assert layer.grads == [] and isinstance(layer.grads, list), (
            f"Sigmoid.grads should be an empty list (no parameters), got {layer.grads!r:.60}")


def test_forward_shape(layers):
    x, _ = data(1)
    out = layers.Sigmoid().forward(x)
    assert out is not None, "Sigmoid.forward returned None: return the output, shape of x"
    assert np.shape(out) == x.shape, (
        f"Sigmoid.forward: out has shape {np.shape(out)} but x has shape {x.shape}: "
        "the sigmoid works element by element")


def test_forward_values(layers):
    x, _ = data(2)
    x[0, :] = [0.0, np.log(3.0), -np.log(3.0)]  # 1/2, 3/4 and 1/4
    out = layers.Sigmoid().forward(x)
    assert out is not None, "Sigmoid.forward returned None: return the output"
    out = np.asarray(out)
    assert out.shape == x.shape, f"Sigmoid.forward: out has shape {out.shape}, not {x.shape}"
    with check:
        assert np.allclose(out[0], [0.5, 0.75, 0.25]), (
            f"Sigmoid.forward: sigmoid(0), sigmoid(ln 3), sigmoid(-ln 3) should be "
            f"0.5, 0.75, 0.25, got {np.round(out[0], 4).tolist()}: out = 1 / (1 + np.exp(-x))")
    with check:
        assert np.allclose(out, sigmoid(x)), (
            "Sigmoid.forward: values differ from 1 / (1 + exp(-x)) (largest difference "
            f"{np.max(np.abs(out - sigmoid(x))):.3g})")


def test_backward_shape(layers):
    x, dout = data(3)
    layer = layers.Sigmoid()
    layer.forward(x)
    dx = layer.backward(dout)
    assert dx is not None, "Sigmoid.backward returned None: return dx, shape of x"
    assert np.shape(dx) == x.shape, (
        f"Sigmoid.backward: dx has shape {np.shape(dx)} but x has shape {x.shape}: "
        "multiply dout element-wise (*), not with @")


def test_backward_gradient_check(layers):
    x, _ = data(4)
    rng = np.random.default_rng(40)
    layer = layers.Sigmoid()
    analytic, numeric = layer_gradients(layer, x, rng)["dx"]
    assert analytic is not None, "Sigmoid.backward returned None: return dx"
    assert analytic.shape == numeric.shape, (
        f"Sigmoid.backward: dx has shape {analytic.shape}, should be {numeric.shape}")
    err = rel_error(analytic, numeric)
    if err <= TOLERANCE:
        return
    # Replay the check's dout to recognise the usual slip: y(1 - y) with x for y.
    G = np.random.default_rng(40).standard_normal(x.shape)
    if rel_error(analytic, G * x * (1 - x)) <= TOLERANCE:
        why = "dx looks computed from the input x"
    elif scale_between(analytic, numeric) == 0:
        why = "dx is all zeros"
    else:
        why = f"dx differs from the numerical gradient (relative error {err:.1e})"
    pytest.fail(f"Sigmoid.backward: {why}: dx = dout * y * (1 - y), with the output "
                "y = sigmoid(x) kept by forward", pytrace=False)
