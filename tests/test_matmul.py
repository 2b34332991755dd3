"""Public tests for MatMul (layers.py): out = x @ W, no bias.

Shapes used: x (N, D), W (D, H), out and dout (N, H), with N = 5 or 1,
D = 3, H = 4, so that no two sizes are equal and a missing transpose shows.
PYTEST_DONT_REWRITE: every assert carries its own message.
"""
import numpy as np
import pytest
from pytest_check import check

from explain import describe, gradient_problem
from gradcheck import layer_gradients

N, D, H = 5, 3, 4
BATCHES = (N, 1)  # a batch of one exposes squeezed or summed-away axes


def data(seed, n=N):
    """x (n, D), W (D, H) and dout (n, H), all random float64."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, D)), rng.standard_normal((D, H)),
            rng.standard_normal((n, H)))


def test_interface(layers):
    _, W, _ = data(0)
    layer = layers.MatMul(W)
    # A typo in __init__ (say self.parans) fails on this line, with a hint.
    _ = (layer.params, layer.grads)
    assert isinstance(layer.params, list) and len(layer.params) == 1, (
        f"MatMul.params should be a list holding W, got {layer.params!r:.60}")
    assert isinstance(layer.grads, list) and len(layer.grads) == 1, (
        f"MatMul.grads should be a list holding one array, got {layer.grads!r:.60}")
    with check:
        assert np.array_equal(layer.params[0], W), (
            "MatMul.params[0] should be the W given to __init__")
    grad = layer.grads[0]
    with check:
        assert (isinstance(grad, np.ndarray) and grad.shape == W.shape
                and grad.dtype == W.dtype and not np.any(grad)), (
            f"MatMul.grads[0] should start as zeros of W's shape {W.shape} and dtype "
            f"{W.dtype}, got {describe(grad)}: np.zeros_like(W)")
    with check:
        assert grad is not layer.params[0], (
            "MatMul.grads[0] is the same array as params[0]: the gradient needs "
            "its own array, np.zeros_like(W)")


def test_forward_shape(layers):
    for n in BATCHES:
        x, W, _ = data(1, n)
        out = layers.MatMul(W).forward(x)
        assert out is not None, (
            f"MatMul.forward returned None: return the output, shape (N, H) = {(n, H)}")
        with check:
            assert np.shape(out) == (n, H), (
                f"MatMul.forward: out has shape {np.shape(out)} but should be (N, H) = "
                f"{(n, H)} for x {x.shape} and W {W.shape}: out = x @ W")


def test_forward_values(layers):
    x, W, _ = data(2)
    out = layers.MatMul(W).forward(x)
    assert out is not None, "MatMul.forward returned None: return the output"
    out = np.asarray(out)
    assert out.shape == (N, H), f"MatMul.forward: out has shape {out.shape}, not {(N, H)}"
    expected = x @ W
    assert np.allclose(out, expected), (
        "MatMul.forward: values differ from x @ W (largest difference "
        f"{np.max(np.abs(out - expected)):.3g}): use the W in self.params[0]")


def test_backward_shapes(layers):
    for n in BATCHES:
        x, W, dout = data(3, n)
        layer = layers.MatMul(W)
        layer.forward(x)
        dx = layer.backward(dout)
        assert dx is not None, (
            f"MatMul.backward returned None: return dx, shape (N, D) = {(n, D)}")
        with check:
            assert np.shape(dx) == x.shape, (
                f"MatMul.backward: dx has shape {np.shape(dx)} but x has shape {x.shape}: "
                "dx = dout @ W.T")
        with check:
            assert np.shape(layer.grads[0]) == W.shape, (
                f"MatMul.backward: grads[0] has shape {np.shape(layer.grads[0])} but W has "
                f"shape {W.shape}: dW = x.T @ dout, written with self.grads[0][...] = dW")


HINTS = {
    "dx": "dx = dout @ W.T",
    "dW": "dW = x.T @ dout with the x kept by forward, stored with self.grads[0][...] = dW",
}


@pytest.mark.parametrize("grad", ["dx", "dW"])
def test_backward_gradient_check(layers, grad):
    x, W, _ = data(4)
    layer = layers.MatMul(W)
    analytic, numeric = layer_gradients(
        layer, x, np.random.default_rng(40), names=["W"])[grad]
    problem = gradient_problem("MatMul", grad, analytic, numeric, HINTS[grad])
    if problem:
        pytest.fail(problem, pytrace=False)


def test_backward_writes_grads_in_place(layers):
    x, W, dout = data(5)
    layer = layers.MatMul(W)
    grads_list, dW_array = layer.grads, layer.grads[0]
    layer.forward(x)
    layer.backward(dout)
    first = dW_array.copy()
    layer.forward(x)
    layer.backward(dout)  # the same call again must give the same grads
    assert layer.grads is grads_list, (
        "MatMul.backward replaced the list self.grads: keep it and write into "
        "its array with self.grads[0][...] = dW")
    assert layer.grads[0] is dW_array, (
        "MatMul.backward replaced self.grads[0] with a new array: write into it "
        "with self.grads[0][...] = dW (a model collects grads once, "
        "grads += layer.grads, so it never sees a new array)")
    assert np.any(first), (
        "MatMul.backward left self.grads[0] all zeros: store dW with self.grads[0][...] = dW")
    assert not np.allclose(dW_array, 2 * first), (
        "MatMul.backward adds to self.grads[0] on every call: overwrite it "
        "with self.grads[0][...] = dW instead of +=")
