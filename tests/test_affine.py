"""Public tests for Affine (layers.py): out = x @ W + b.

Shapes used: x (N, D), W (D, H), b (H,), out and dout (N, H), with
N = 5 or 1, D = 3, H = 4, so that no two sizes are equal.
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
    """x (n, D), W (D, H), b (H,) and dout (n, H), all random float64."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, D)), rng.standard_normal((D, H)),
            rng.standard_normal(H), rng.standard_normal((n, H)))


def test_interface(layers):
    _, W, b, _ = data(0)
    layer = layers.Affine(W, b)
    # A typo in __init__ (say self.parans) fails on this line, with a hint.
    _ = (layer.params, layer.grads)
    assert isinstance(layer.params, list) and len(layer.params) == 2, (
        f"Affine.params should be the list [W, b], got {layer.params!r:.60}")
    assert isinstance(layer.grads, list) and len(layer.grads) == 2, (
        f"Affine.grads should be a list of two arrays [dW, db], got {layer.grads!r:.60}")
    for i, (name, p) in enumerate([("W", W), ("b", b)]):
        with check:
            assert np.shape(layer.params[i]) == p.shape and np.array_equal(layer.params[i], p), (
                f"Affine.params[{i}] should be the {name} given to __init__ (params = [W, b])")
        grad = layer.grads[i]
        with check:
            assert (isinstance(grad, np.ndarray) and grad.shape == p.shape
                    and grad.dtype == p.dtype and not np.any(grad)), (
                f"Affine.grads[{i}] should start as zeros of {name}'s shape {p.shape} "
                f"and dtype {p.dtype}, got {describe(grad)}: np.zeros_like({name})")
        with check:
            assert grad is not layer.params[i], (
                f"Affine.grads[{i}] is the same array as params[{i}]: the gradient "
                f"needs its own array, np.zeros_like({name})")


def test_forward_shape(layers):
    for n in BATCHES:
        x, W, b, _ = data(1, n)
        out = layers.Affine(W, b).forward(x)
        assert out is not None, (
            f"Affine.forward returned None: return the output, shape (N, H) = {(n, H)}")
        with check:
            assert np.shape(out) == (n, H), (
                f"Affine.forward: out has shape {np.shape(out)} but should be (N, H) = "
                f"{(n, H)} for x {x.shape}, W {W.shape}, b {b.shape}: out = x @ W + b")


def test_forward_values(layers):
    x, W, b, _ = data(2)
    out = layers.Affine(W, b).forward(x)
    assert out is not None, "Affine.forward returned None: return the output"
    out = np.asarray(out)
    assert out.shape == (N, H), f"Affine.forward: out has shape {out.shape}, not {(N, H)}"
    if np.allclose(out, x @ W):
        pytest.fail("Affine.forward: the bias is missing: out = x @ W + b", pytrace=False)
    expected = x @ W + b
    assert np.allclose(out, expected), (
        "Affine.forward: values differ from x @ W + b (largest difference "
        f"{np.max(np.abs(out - expected)):.3g}): W, b = self.params")


def test_backward_shapes(layers):
    for n in BATCHES:
        x, W, b, dout = data(3, n)
        layer = layers.Affine(W, b)
        layer.forward(x)
        dx = layer.backward(dout)
        assert dx is not None, (
            f"Affine.backward returned None: return dx, shape (N, D) = {(n, D)}")
        with check:
            assert np.shape(dx) == x.shape, (
                f"Affine.backward: dx has shape {np.shape(dx)} but x has shape {x.shape}: "
                "dx = dout @ W.T")
        dW, db = layer.grads[0], layer.grads[1]
        with check:
            assert np.shape(dW) == W.shape, (
                f"Affine.backward: dW has shape {np.shape(dW)} but W has shape {W.shape}: "
                "dW = x.T @ dout, written with self.grads[0][...] = dW")
        with check:
            assert np.shape(db) == b.shape, (
                f"Affine.backward: db has shape {np.shape(db)} but b has shape {b.shape}: "
                "sum dout over the batch axis (axis=0), written with self.grads[1][...] = db")


HINTS = {
    "dx": "dx = dout @ W.T",
    "dW": "dW = x.T @ dout with the x kept by forward, stored with self.grads[0][...] = dW",
    "db": "db = dout summed over the batch axis (axis=0), stored with self.grads[1][...] = db",
}


@pytest.mark.parametrize("grad", ["dx", "dW", "db"])
def test_backward_gradient_check(layers, grad):
    x, W, b, _ = data(4)
    layer = layers.Affine(W, b)
    analytic, numeric = layer_gradients(
        layer, x, np.random.default_rng(40), names=["W", "b"])[grad]
    problem = gradient_problem("Affine", grad, analytic, numeric, HINTS[grad], batch=N)
    if problem:
        pytest.fail(problem, pytrace=False)


def test_backward_writes_grads_in_place(layers):
    x, W, b, dout = data(5)
    layer = layers.Affine(W, b)
    grads_list, arrays = layer.grads, list(layer.grads)
    layer.forward(x)
    layer.backward(dout)
    first = [a.copy() for a in arrays]
    layer.forward(x)
    layer.backward(dout)  # the same call again must give the same grads
    assert layer.grads is grads_list, (
        "Affine.backward replaced the list self.grads: keep it and write into its "
        "arrays with self.grads[0][...] = dW and self.grads[1][...] = db")
    for i, name in enumerate(["dW", "db"]):
        with check:
            assert layer.grads[i] is arrays[i], (
                f"Affine.backward replaced self.grads[{i}] with a new array: write into "
                f"it with self.grads[{i}][...] = {name} (a model collects grads once, "
                "grads += layer.grads, so it never sees a new array)")
        if layer.grads[i] is not arrays[i]:
            continue
        with check:
            assert np.any(first[i]), (
                f"Affine.backward left self.grads[{i}] all zeros: store {name} with "
                f"self.grads[{i}][...] = {name}")
        with check:
            assert not np.any(first[i]) or not np.allclose(arrays[i], 2 * first[i]), (
                f"Affine.backward adds to self.grads[{i}] on every call: overwrite it "
                f"with self.grads[{i}][...] = {name} instead of +=")
