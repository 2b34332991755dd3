"""Hidden suite for Affine: out = x @ W + b; dx = dout @ W.T, dW = x.T @ dout,
db = dout.sum(axis=0).

Gradients are judged against finite differences of the judge's own x @ W + b (see
checks.py), so a wrong forward costs the forward test only.
"""
import numpy as np

from grading.judge.suites import checks as C
from grading.judge.suites import interface
from grading.judge.suites import network
from grading.judge.suites.checks import distinct_messages  # noqa: F401 (autouse fixture)

CLS = "Affine"


def _grad_shapes(D, H):
    return [(D, H), (H,)]


def _db_hints(dout, N, H):
    hints = [("every entry equals dout.sum(): sum over axis=0 only", np.full(H, dout.sum())),
             ("it equals dout.mean(axis=0): db adds dout over the batch, a sum, not a mean",
              dout.mean(axis=0)),
             ("it is dout summed over axis=1: sum over the batch axis, axis=0",
              np.broadcast_to(dout.sum(axis=1), (H,)) if N in (1, H) else None),
             ("it equals twice db: backward must overwrite grads[1], not add to it",
              2 * dout.sum(axis=0)),
             ("it equals the first row of dout: sum dout over all rows (axis=0)", dout[0]),
             ("it is all zeros: backward must write db into self.grads[1][...]", np.zeros(H))]
    return hints


def test_forward_values(subject, rng):
    for N, D, H in C.SHAPES:
        x, W, b, _ = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, b, then=[("forward", x)])
        out = layer.forward(x)
        what = f"Affine.forward ({C.dims(N, D, H)})"
        if C.expect_array(out, (N, H), what, returned="out", shape_text="(N, H)"):
            hints = [("it equals x @ W: add the bias, out = x @ W + b", x @ W),
                     ("it equals x @ W - b: add the bias", x @ W - b),
                     ("it equals x @ W.T + b: use x @ W + b", x @ W.T + b if D == H else None)]
            C.expect_values(out, C.affine(x, W, b), f"out of {what}", "x @ W + b", hints)


def test_shapes(subject, rng):
    for N, D, H in C.SHAPES:
        x, W, b, dout = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, b, then=C.forward_backward_grads(x, dout))
        what = f"({C.dims(N, D, H)})"
        out = layer.forward(x)
        C.expect_array(out, (N, H), f"Affine.forward {what}", returned="out",
                       shape_text="(N, H)")
        dx = layer.backward(dout)
        C.expect_array(dx, (N, D), f"Affine.backward {what}", returned="dx",
                       shape_text="(N, D)")
        C.grads_now(layer, 2, _grad_shapes(D, H), f"after backward {what}")


def test_backward_dx_matches_finite_differences(subject, rng):
    for N, D, H in C.SHAPES:
        x, W, b, dout = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, b, then=C.forward_backward_grads(x, dout))
        layer.forward(x)
        dx = layer.backward(dout)
        what = f"Affine.backward ({C.dims(N, D, H)})"
        # Every backward test reads the grads too: gradients of the wrong shape break the
        # model's update whichever way they were stored (the same diagnosis either way).
        grads = C.grads_now(layer, 2, _grad_shapes(D, H), f"after {what}")
        if C.expect_array(dx, (N, D), what, returned="dx", shape_text="(N, D)") and grads:
            numeric = C.numerical_gradient(lambda v: C.affine(v, W, b), x, dout)
            C.expect_gradient(dx, numeric, f"dx returned by {what}", C.dx_hints(W, dout),
                              dout @ W.T)


def _grads_after_backward(subject, rng):
    """For each shape: the data, a description, and grads after one forward and backward
    (None when they could not be read; the reason is already reported)."""
    for N, D, H in C.SHAPES:
        x, W, b, dout = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, b, then=C.forward_backward_grads(x, dout))
        layer.forward(x)
        layer.backward(dout)
        what = f"after Affine.backward ({C.dims(N, D, H)})"
        yield x, W, b, dout, what, C.grads_now(layer, 2, _grad_shapes(D, H), what)


def test_backward_dW_matches_finite_differences(subject, rng):
    for x, W, b, dout, what, grads in _grads_after_backward(subject, rng):
        if grads is not None:
            numeric = C.numerical_gradient(lambda v: C.affine(x, v, b), W, dout)
            C.expect_gradient(grads[0], numeric, f"dW in grads[0] {what}",
                              C.dW_hints(x, dout), x.T @ dout)


def test_backward_db_matches_finite_differences(subject, rng):
    for x, W, b, dout, what, grads in _grads_after_backward(subject, rng):
        if grads is not None:
            numeric = C.numerical_gradient(lambda v: C.affine(x, W, v), b, dout)
            C.expect_gradient(grads[1], numeric, f"db in grads[1] {what}",
                              _db_hints(dout, *dout.shape), dout.sum(axis=0))


def test_grads_written_in_place(subject, rng):
    N, D, H = C.SQUARE
    x, W, b, dout = C.layer_data(rng, N, D, H)
    layer = C.Student(subject, CLS, W, b)
    held = layer.hold("grads")  # as a model does: grads += layer.grads, before any backward
    layer.forward(x)
    layer.backward(dout)
    kept = held.values()
    now = C.grads_now(layer, 2, _grad_shapes(D, H), "after backward")
    if now is None or not C.expect_list(kept, 2, "Affine.grads before backward"):
        return
    C.expect_in_place(kept[0], now[0], 0, "dW", CLS)
    C.expect_in_place(kept[1], now[1], 1, "db", CLS)


def test_backward_overwrites_grads(subject, rng):
    N, D, H = C.SQUARE
    x, W, b, dout = C.layer_data(rng, N, D, H)
    dout2 = rng.standard_normal((N, H))
    shapes = _grad_shapes(D, H)
    once = C.Student(subject, CLS, W, b, then=[("forward", x), ("backward", dout2)])
    once.forward(x)
    once.backward(dout2)
    twice = C.Student(subject, CLS, W, b,
                      then=[*C.forward_backward_grads(x, dout), ("backward", dout2)])
    twice.forward(x)
    twice.backward(dout)
    first = C.grads_now(twice, 2, shapes, "after a first backward")
    twice.backward(dout2)
    expected = C.grads_now(once, 2, shapes, "after backward")
    got = C.grads_now(twice, 2, shapes, "after a second backward")
    if None not in (first, expected, got):
        C.expect_overwritten(got[0], expected[0], first[0], "grads[0] (dW)", CLS)
        C.expect_overwritten(got[1], expected[1], first[1], "grads[1] (db)", CLS)


def test_second_forward_replaces_cache(subject, rng):
    N, D, H = C.SQUARE
    x1, W, b, dout = C.layer_data(rng, N, D, H)
    x2 = rng.standard_normal((N, D))
    shapes = _grad_shapes(D, H)
    fresh = C.Student(subject, CLS, W, b, then=[("forward", x2), ("backward", dout)])
    fresh.forward(x2)
    fresh.backward(dout)
    layer = C.Student(subject, CLS, W, b,
                      then=[("forward", x1), *C.forward_backward_grads(x2, dout)])
    layer.forward(x1)
    layer.forward(x2)
    layer.backward(dout)
    got = C.grads_now(layer, 2, shapes, "after forward(x1), forward(x2), backward")
    expected = C.grads_now(fresh, 2, shapes, "after forward(x2), backward")
    if None not in (got, expected):
        C.expect_same_as_fresh(got[0], expected[0], "dW in grads[0]", CLS,
                               stale=x1.T @ dout, right=x2.T @ dout)


def test_arguments_not_modified(subject, rng):
    N, D, H = C.SQUARE
    x, W, b, dout = C.layer_data(rng, N, D, H)
    layer = C.Student(subject, CLS, W, b,
                      then=[("forward", x), ("backward", dout), ("read", "params")])
    forward = layer.call("forward", x)
    backward = layer.call("backward", dout)
    C.expect_unchanged(forward.args_after[0], x, "Affine.forward(x) changed x in place")
    C.expect_unchanged(backward.args_after[0], dout, "Affine.backward(dout) changed dout in place")
    params = layer.read("params")
    if C.expect_list(params, 2, "Affine.params after backward"):
        C.expect_unchanged(params[0], W, "forward or backward changed W (params[0])")
        C.expect_unchanged(params[1], b, "forward or backward changed b (params[1])")


def test_model_interface(subject, rng):
    interface.check_interface(subject, rng, CLS)


def test_in_the_network(subject, rng):
    network.check_network(subject, rng, CLS)
