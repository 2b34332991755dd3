"""Hidden suite for MatMul: out = x @ W, dx = dout @ W.T, dW = x.T @ dout.

One test per property; each creates its own MatMul objects from the module's `subject`.
Gradients are judged against finite differences of the judge's own formula (see checks.py).
"""
import numpy as np

from grading.judge.suites import checks as C
from grading.judge.suites import interface
from grading.judge.suites import network
from grading.judge.suites.checks import distinct_messages  # noqa: F401 (autouse fixture)

CLS = "MatMul"


def test_forward_values(subject, rng):
    for N, D, H in C.SHAPES:
        x, W, _, _ = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, then=[("forward", x)])
        out = layer.forward(x)
        what = f"MatMul.forward ({C.dims(N, D, H)})"
        if C.expect_array(out, (N, H), what, returned="out", shape_text="(N, H)"):
            hints = [("it equals x @ W.T: use x @ W", x @ W.T if D == H else None)]
            C.expect_values(out, C.matmul(x, W), f"out of {what}", "x @ W", hints)


def test_shapes(subject, rng):
    for N, D, H in C.SHAPES:
        x, W, _, dout = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, then=C.forward_backward_grads(x, dout))
        what = f"({C.dims(N, D, H)})"
        out = layer.forward(x)
        C.expect_array(out, (N, H), f"MatMul.forward {what}", returned="out",
                       shape_text="(N, H)")
        dx = layer.backward(dout)
        C.expect_array(dx, (N, D), f"MatMul.backward {what}", returned="dx",
                       shape_text="(N, D)")
        C.grads_now(layer, 1, [(D, H)], f"after backward {what}")


def test_backward_dx_matches_finite_differences(subject, rng):
    for N, D, H in C.SHAPES:
        x, W, _, dout = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, then=C.forward_backward_grads(x, dout))
        layer.forward(x)
        dx = layer.backward(dout)
        what = f"MatMul.backward ({C.dims(N, D, H)})"
        # Every backward test reads the grads too: gradients of the wrong shape break the
        # model's update whichever way they were stored (the same diagnosis either way).
        grads = C.grads_now(layer, 1, [(D, H)], f"after {what}")
        if C.expect_array(dx, (N, D), what, returned="dx", shape_text="(N, D)") and grads:
            numeric = C.numerical_gradient(lambda v: C.matmul(v, W), x, dout)
            C.expect_gradient(dx, numeric, f"dx returned by {what}", C.dx_hints(W, dout),
                              dout @ W.T)


def test_backward_dW_matches_finite_differences(subject, rng):
    for N, D, H in C.SHAPES:
        x, W, _, dout = C.layer_data(rng, N, D, H)
        layer = C.Student(subject, CLS, W, then=C.forward_backward_grads(x, dout))
        layer.forward(x)
        layer.backward(dout)
        what = f"after MatMul.backward ({C.dims(N, D, H)})"
        grads = C.grads_now(layer, 1, [(D, H)], what)
        if grads is not None:
            numeric = C.numerical_gradient(lambda v: C.matmul(x, v), W, dout)
            C.expect_gradient(grads[0], numeric, f"dW in grads[0] {what}",
                              C.dW_hints(x, dout), x.T @ dout)


def test_grads_written_in_place(subject, rng):
    N, D, H = C.SQUARE
    x, W, _, dout = C.layer_data(rng, N, D, H)
    layer = C.Student(subject, CLS, W)
    held = layer.hold("grads")  # as a model does: grads += layer.grads, before any backward
    layer.forward(x)
    layer.backward(dout)
    kept = held.values()
    now = C.grads_now(layer, 1, [(D, H)], "after backward")
    if now is None or not C.expect_list(kept, 1, "MatMul.grads before backward"):
        return
    C.expect_in_place(kept[0], now[0], 0, "dW", "MatMul")


def test_backward_overwrites_grads(subject, rng):
    N, D, H = C.SQUARE
    x, W, _, dout = C.layer_data(rng, N, D, H)
    dout2 = rng.standard_normal((N, H))
    once = C.Student(subject, CLS, W, then=[("forward", x), ("backward", dout2)])
    once.forward(x)
    once.backward(dout2)
    twice = C.Student(subject, CLS, W,
                      then=[*C.forward_backward_grads(x, dout), ("backward", dout2)])
    twice.forward(x)
    twice.backward(dout)
    first = C.grads_now(twice, 1, [(D, H)], "after a first backward")
    twice.backward(dout2)
    expected = C.grads_now(once, 1, [(D, H)], "after backward")
    got = C.grads_now(twice, 1, [(D, H)], "after a second backward")
    if None not in (first, expected, got):
        C.expect_overwritten(got[0], expected[0], first[0], "grads[0] (dW)", "MatMul")


def test_second_forward_replaces_cache(subject, rng):
    N, D, H = C.SQUARE
    x1, W, _, dout = C.layer_data(rng, N, D, H)
    x2 = rng.standard_normal((N, D))
    fresh = C.Student(subject, CLS, W, then=[("forward", x2), ("backward", dout)])
    fresh.forward(x2)
    dx_fresh = fresh.backward(dout)
    layer = C.Student(subject, CLS, W,
                      then=[("forward", x1), *C.forward_backward_grads(x2, dout)])
    layer.forward(x1)
    layer.forward(x2)
    dx = layer.backward(dout)
    got = C.grads_now(layer, 1, [(D, H)], "after forward(x1), forward(x2), backward")
    expected = C.grads_now(fresh, 1, [(D, H)], "after forward(x2), backward")
    if None not in (got, expected):
        C.expect_same_as_fresh(got[0], expected[0], "dW in grads[0]", "MatMul",
                               stale=x1.T @ dout, right=x2.T @ dout)
    if isinstance(dx, np.ndarray) and isinstance(dx_fresh, np.ndarray):
        C.expect_same_as_fresh(dx, dx_fresh, "dx", "MatMul")


def test_arguments_not_modified(subject, rng):
    N, D, H = C.SQUARE
    x, W, _, dout = C.layer_data(rng, N, D, H)
    layer = C.Student(subject, CLS, W,
                      then=[("forward", x), ("backward", dout), ("read", "params")])
    forward = layer.call("forward", x)
    backward = layer.call("backward", dout)
    C.expect_unchanged(forward.args_after[0], x, "MatMul.forward(x) changed x in place")
    C.expect_unchanged(backward.args_after[0], dout, "MatMul.backward(dout) changed dout in place")
    params = layer.read("params")
    if C.expect_list(params, 1, "MatMul.params after backward"):
        C.expect_unchanged(params[0], W, "forward or backward changed W (params[0])")


def test_model_interface(subject, rng):
    interface.check_interface(subject, rng, CLS)


def test_in_the_network(subject, rng):
    network.check_network(subject, rng, CLS)
