"""Hidden suite for Sigmoid: out = 1 / (1 + exp(-x)), dx = dout * out * (1 - out).

Inputs stay within |x| <= 3 (see checks.SIGMOID_RANGE): the book's own formula overflows
(a RuntimeWarning) for very negative x, and that must not cost the student anything.
"""
import numpy as np

from grading.judge.suites import checks as C
from grading.judge.suites import interface
from grading.judge.suites import network
from grading.judge.suites.checks import distinct_messages  # noqa: F401 (autouse fixture)

CLS = "Sigmoid"
# (N, D) batches: one sample, a tall one, a wide one.
SHAPES = ((1, 4), (5, 3), (2, 6))


def _forward_hints(x):
    return [("it equals tanh(x): the sigmoid is 1 / (1 + np.exp(-x))", np.tanh(x)),
            ("it equals 1 / (1 + exp(x)): the exponent is -x", C.sigmoid(-x)),
            ("it equals exp(-x) / (1 + exp(-x)) = sigmoid(-x): use 1 / (1 + np.exp(-x))",
             np.exp(-x) / (1 + np.exp(-x))),
            ("it equals x: forward must apply the sigmoid", x)]


def _backward_hints(x, dout):
    y = C.sigmoid(x)
    return [("it equals dout * x * (1 - x): the derivative is y * (1 - y) with the output "
             "y = sigmoid(x), not with x", dout * x * (1 - x)),
            ("it equals y * (1 - y) without dout: multiply by dout (the chain rule)",
             y * (1 - y)),
            ("it equals dout * y: the derivative is y * (1 - y)", dout * y),
            ("it equals dout * (1 - y): the derivative is y * (1 - y)", dout * (1 - y)),
            ("it has the factor (1 - dout) where the derivative has (1 - y)",
             dout * y * (1 - dout)),
            ("it equals dout: multiply by the derivative y * (1 - y)", dout),
            ("it equals y: backward must return dx, not the output", y)]


def test_forward_values(subject, rng):
    for N, D in SHAPES:
        x = rng.uniform(-6.0, 6.0, size=(N, D))
        layer = C.Student(subject, CLS, then=[("forward", x)])
        out = layer.forward(x)
        what = f"Sigmoid.forward (x of shape {(N, D)})"
        if C.expect_array(out, (N, D), what, returned="out", shape_text="x.shape"):
            C.expect_values(out, C.sigmoid(x), f"out of {what}", "1 / (1 + exp(-x))",
                            _forward_hints(x))


def test_backward_shape(subject, rng):
    for N, D in SHAPES:
        x = C.sigmoid_input(rng, (N, D))
        dout = rng.standard_normal((N, D))
        layer = C.Student(subject, CLS, then=[("forward", x), ("backward", dout)])
        layer.forward(x)
        dx = layer.backward(dout)
        C.expect_array(dx, (N, D), f"Sigmoid.backward (x of shape {(N, D)})", returned="dx",
                       shape_text="x.shape")


def test_backward_matches_finite_differences(subject, rng):
    for N, D in SHAPES:
        x = C.sigmoid_input(rng, (N, D))
        dout = rng.standard_normal((N, D))
        layer = C.Student(subject, CLS, then=[("forward", x), ("backward", dout)])
        layer.forward(x)
        dx = layer.backward(dout)
        what = f"Sigmoid.backward (x of shape {(N, D)})"
        if C.expect_array(dx, (N, D), what, returned="dx", shape_text="x.shape"):
            numeric = C.numerical_gradient(C.sigmoid, x, dout)
            y = C.sigmoid(x)
            C.expect_gradient(dx, numeric, f"dx returned by {what}", _backward_hints(x, dout),
                              dout * y * (1 - y))


def test_second_forward_replaces_cache(subject, rng):
    N, D = 3, 4
    x1, x2 = C.sigmoid_input(rng, (N, D)), C.sigmoid_input(rng, (N, D))
    dout = rng.standard_normal((N, D))
    fresh = C.Student(subject, CLS, then=[("forward", x2), ("backward", dout)])
    fresh.forward(x2)
    expected = fresh.backward(dout)
    layer = C.Student(subject, CLS, then=[("forward", x1), ("forward", x2), ("backward", dout)])
    layer.forward(x1)
    layer.forward(x2)
    got = layer.backward(dout)
    y1, y2 = C.sigmoid(x1), C.sigmoid(x2)
    if C.expect_array(got, (N, D), "Sigmoid.backward after two forwards", returned="dx",
                      shape_text="x.shape"):
        C.expect_same_as_fresh(got, expected, "dx", CLS, stale=dout * y1 * (1 - y1),
                               right=dout * y2 * (1 - y2), cached="out")


def test_arguments_not_modified(subject, rng):
    N, D = 3, 4
    x = C.sigmoid_input(rng, (N, D))
    dout = rng.standard_normal((N, D))
    layer = C.Student(subject, CLS, then=[("forward", x), ("backward", dout)])
    forward = layer.call("forward", x)
    backward = layer.call("backward", dout)
    y = C.sigmoid(x)
    C.expect_unchanged(forward.args_after[0], x, "Sigmoid.forward(x) changed x in place",
                       [("x now holds -x: compute np.exp(-x) into a new array, do not "
                         "negate x in place", -x),
                        ("x now holds the output: do not compute into x (out=x, x[...] =)",
                         y)])
    C.expect_unchanged(backward.args_after[0], dout, "Sigmoid.backward(dout) changed dout in place",
                       [("dout now holds dx: write dx = dout * ... into a new array, "
                         "not dout *= ...", dout * y * (1 - y))])


def test_model_interface(subject, rng):
    interface.check_interface(subject, rng, CLS)


def test_in_the_network(subject, rng):
    network.check_network(subject, rng, CLS)
