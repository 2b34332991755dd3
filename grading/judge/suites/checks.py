"""What the hidden suites share: reference formulas, finite differences, test data,
comparisons that explain themselves, and the hints that name a typical mistake.

How the gradient tests work
---------------------------
A backward test never trusts the student's forward. The judge computes the numerical
gradient itself, from its own forward formula in plain numpy (x @ W + b, 1 / (1 + exp(-x))),
by central differences of the scalar L = sum(f(x) * G) for a random G, and the student's
backward(G) is compared with it. So:

* a broken forward costs the forward test only: backward is judged against the true
  function, not against whatever the student's forward computes;
* finite differences need no extra round trips to the student's process (two forwards
  per perturbed entry would be hundreds of requests);
* forward is tested on its own, against the very same formulas.

The comparison is the norm-relative error |a - n| / (|a| + |n|) (Frobenius norms) with
the limit 1e-6: right code stays near 1e-10 with h = 1e-5 in float64, the smallest real
mistake seen lands near 1e-2. An element-wise max-relative error is deliberately not
used: it blows up on entries that are near zero in both.

Every message is one line and says what was checked, what came out, what was expected,
and when the wrong value matches a known mistake, which one and how to fix it.
"""
import re

import numpy as np
import pytest
from pytest_check import check

from grading.judge.suites.diagnose import grad_shape_problem, one_line, with_hint
from grading.judge.suites.student import Student, unused  # noqa: F401 (the suites' C.Student)

FD_STEP = 1e-5
FD_LIMIT = 1e-6

# (N, D, H): N != H and D != H; a single sample; a square W (D == H).
SHAPES = ((2, 5, 3), (1, 3, 4), (4, 3, 3))
# The shape of the tests of in-place and caching behaviour. Fully square on purpose: most
# shape mistakes (a missing transpose, a sum over the wrong axis) then run without raising,
# so these tests judge the property they are named after and nothing else.
SQUARE = (3, 3, 3)
# Sigmoid inputs: |x| <= 3 keeps the finite differences accurate and stays far from the
# range where the book's 1 / (1 + exp(-x)) overflows (a RuntimeWarning, not a mistake).
SIGMOID_RANGE = 3.0


# ---------------------------------------------------------------------------------------
# Reference formulas (the judge's own forward passes).

def matmul(x, W):
    return x @ W


def affine(x, W, b):
    return x @ W + b


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------
# Test data: always from the test's `rng`, float64, never all ones.

def layer_data(rng, N, D, H):
    """x (N, D), W (D, H), b (H,), dout (N, H): standard normal, W never symmetric."""
    return (rng.standard_normal((N, D)), rng.standard_normal((D, H)),
            rng.standard_normal(H), rng.standard_normal((N, H)))


def sigmoid_input(rng, shape):
    return rng.uniform(-SIGMOID_RANGE, SIGMOID_RANGE, size=shape)


def dims(N, D, H):
    return f"N, D, H = {N}, {D}, {H}"


# ---------------------------------------------------------------------------------------
# Finite differences and the error metric.

def numerical_gradient(f, arr, G, h=FD_STEP):
    """dL/d(arr) for L = sum(f(arr) * G), by central differences, one entry at a time."""
    work = np.array(arr, dtype=np.float64)          # a private copy to perturb
    grad = np.empty_like(work)
    flat, gflat = work.reshape(-1), grad.reshape(-1)  # views of the contiguous copies
    for i in range(flat.size):
        kept = flat[i]
        flat[i] = kept + h
        plus = np.sum(f(work) * G)
        flat[i] = kept - h
        minus = np.sum(f(work) * G)
        flat[i] = kept
        gflat[i] = (plus - minus) / (2.0 * h)
    return grad


def relative_error(a, n):
    """|a - n| / (|a| + |n|) in Frobenius norms; 0 when both are zero."""
    den = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if den == 0.0 else float(np.linalg.norm(a - n) / den)


def close(a, b):
    """Same shape and the same values up to rounding (for formulas computed two ways)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def matching_hint(got, hints, right=None):
    """The text of the first (text, value) whose value `got` equals, unless it is right."""
    for text, value in hints:
        if value is None:
            continue
        value = np.asarray(value, dtype=np.float64)
        if right is not None and close(value, right):
            continue  # on this data the mistake gives the right answer: no evidence
        if close(got, value):
            return text
    return None


# ---------------------------------------------------------------------------------------
# Known mistakes of MatMul and Affine: (hint, the value the mistake gives) pairs.

def dx_hints(W, dout):
    square = W.shape[0] == W.shape[1]
    return [("it equals dout @ W, W as it is: dx has x's shape (N, D) and W is (D, H); the "
             "shapes tell you which factor to transpose", dout @ W if square else None),
            ("it equals dout: dx carries dout back through W (a matrix product)",
             dout if square else None)]


def dW_hints(x, dout):
    dW = x.T @ dout
    return [("it is the transpose of dW: the factors are swapped or the wrong one is "
             "transposed; dW has W's shape (D, H)", dW.T),
            ("it equals twice dW: backward must overwrite grads[0], not add to it", 2 * dW),
            ("it equals dW / N: dW is a sum over the batch, do not average", dW / len(x)),
            ("it is all zeros: backward must write dW into self.grads[0][...]",
             np.zeros_like(dW))]


# ---------------------------------------------------------------------------------------
# Reporting: every helper records at most one failure and tells whether all was well.

_reported = set()


@pytest.fixture(autouse=True)
def distinct_messages():
    """One message per problem and test: a problem seen in several cases (shapes,
    parameters) is reported for the first one only. Each suite module imports this
    fixture, which makes it autouse there."""
    _reported.clear()
    unused()
    yield
    _reported.clear()
    left = unused()
    if left:   # the child ran calls the test never looked at: the verdict is not sound
        raise RuntimeError("grader bug: planned calls not taken by the test: "
                           + ", ".join(f"{s.made}: {[step[0] for step, _ in s.ahead]}"
                                       for s in left))


def fail(message):
    """Record a failed check (once per distinct problem in the test); returns False."""
    message = one_line(message)
    problem = re.sub(r"\d[\d.e+-]*", "#", message)  # the same words, other numbers
    if problem not in _reported:
        _reported.add(problem)
        check.fail(message)
    return False


def _shape_hint(got_shape, shape):
    if len(shape) == 2 and tuple(got_shape) == tuple(shape[::-1]) and shape[0] != shape[1]:
        return "it is transposed"
    return None


def expect_array(got, shape, what, *, returned=None, shape_text=""):
    """`got` must be a finite float64 array of `shape`.

    what: "Affine.backward" with returned="dx" for a return value ("... returned None:
    return dx"), or a description such as "grads[0] after Affine.backward".
    """
    wanted = f"{shape_text} = {shape}" if shape_text else f"{shape}"
    if not isinstance(got, np.ndarray):
        if returned:
            return fail(f"{what} returned {got}: return {returned}, an array of shape {wanted}")
        return fail(f"{what} is {got}, expected an array of shape {wanted}")
    label = f"{returned} returned by {what}" if returned else what
    if got.dtype != np.float64:
        return fail(f"{label} has dtype {got.dtype}, expected float64 like the inputs "
                    "(do not convert the dtype)")
    if got.shape != tuple(shape):
        return fail(with_hint(f"{label} has shape {got.shape}, expected {wanted}",
                               _shape_hint(got.shape, shape)))
    if not np.all(np.isfinite(got)):
        return fail(f"{label} contains nan or inf, expected finite values")
    return True


def expect_list(items, count, what):
    """`items` (from read or hold) must be a list of `count` entries."""
    if not isinstance(items, list):
        return fail(f"{what} is {items}, expected a list of {count} array(s)")
    if len(items) != count:
        return fail(f"{what} has {len(items)} item(s), expected {count} (one per parameter)")
    return True


def expect_gradient(got, numeric, what, hints=(), right=None):
    """The norm-relative error of `got` against finite differences must be <= FD_LIMIT."""
    error = relative_error(got, numeric)
    if error <= FD_LIMIT:
        return True
    hint = matching_hint(got, hints, right)
    return fail(with_hint(f"{what} does not match finite differences: relative error "
                           f"{error:.1e} (limit {FD_LIMIT:.0e})", hint))


def expect_values(got, expected, what, formula, hints=()):
    """`got` must equal the formula's value up to rounding."""
    if np.allclose(got, expected, rtol=1e-7, atol=1e-10):
        return True
    error = float(np.max(np.abs(got - expected)))
    hint = matching_hint(got, hints, expected)
    return fail(with_hint(f"{what} differs from {formula}: max abs error {error:.2e}", hint))


def expect_unchanged(after, before, what, hints=()):
    """An argument (or a parameter) must keep its values through a call."""
    if not isinstance(after, np.ndarray) or after.shape != before.shape:
        return fail(f"{what} changed shape or type during the call")
    if np.array_equal(after, before):
        return True
    change = float(np.max(np.abs(after - before)))
    hint = matching_hint(after, hints, before)
    return fail(with_hint(f"{what} (max abs change {change:.2e})", hint))


def forward_backward_grads(x, dout):
    """`then` (see Student) for a test that calls forward(x), backward(dout), then reads grads."""
    return [("forward", x), ("backward", dout), ("read", "grads")]


def grads_now(layer, count, shapes, when):
    """layer.grads as arrays of the right shapes, or None after reporting why not."""
    items = layer.read("grads")
    if not expect_list(items, count, f"{layer.cls}.grads {when}"):
        return None
    ok = True
    for i, (item, shape) in enumerate(zip(items, shapes)):
        problem = isinstance(item, np.ndarray) and grad_shape_problem(
            layer.cls, i, item.shape, shapes[0], layer.context.get("N"))
        if problem:   # the same words as when writing it in place raised
            ok = fail(f"{problem} ({layer.cls}.grads[{i}] {when})")
            continue
        ok &= expect_array(item, shape, f"{layer.cls}.grads[{i}] {when}",
                           shape_text=f"params[{i}].shape")
    return items if ok else None


# ---------------------------------------------------------------------------------------
# Behaviour across calls. These compare the student's layer with the student's own fresh
# layer (not with the reference), so a wrong formula is not charged twice: they judge the
# property they are named after.

def _differs(got, expected):
    """None if equal up to rounding, else a short description of the difference."""
    if not isinstance(got, np.ndarray) or not isinstance(expected, np.ndarray):
        return f"{got} against {expected}"
    if got.shape != expected.shape:
        return f"shape {got.shape} against {expected.shape}"
    if close(got, expected):
        return None
    return f"max abs error {float(np.max(np.abs(got - expected))):.2e}"


def expect_in_place(kept, now, i, name, cls):
    """grads[i] as held before backward (`kept`) must show the values it has now."""
    fix = f"write into the existing array with self.grads[{i}][...] = {name}"
    if not np.any(now):
        return fail(f"{cls}.grads[{i}] still holds zeros after backward: {fix}")
    difference = _differs(kept, now)
    if difference is None:
        return True
    if isinstance(kept, np.ndarray) and not np.any(kept):
        return fail(f"{cls}.grads[{i}] is a new array after backward: the array a model "
                    f"collected before (grads += layer.grads) still holds zeros; {fix}")
    return fail(f"the array a model collected from {cls}.grads[{i}] before backward does not "
                f"hold the gradient afterwards ({difference}); {fix}")


def expect_overwritten(got, expected, first, label, cls):
    """After backward(d1), backward(d2): what one backward(d2) on a fresh layer gives."""
    difference = _differs(got, expected)
    if difference is None:
        return True
    hint = None
    if _differs(got, expected + first) is None:
        hint = ("it is the sum of both backward calls' gradients: overwrite "
                "(self.grads[i][...] = ...), do not add (+=)")
    elif _differs(got, first) is None:
        hint = "it still holds the first backward's gradient: write it on every backward"
    return fail(with_hint(f"{cls}: after backward(dout1), backward(dout2), {label} differs "
                           f"from a fresh layer's after backward(dout2) alone ({difference})",
                           hint))


def expect_same_as_fresh(got, expected, label, cls, stale=None, right=None, cached="x"):
    """After forward(x1), forward(x2), backward(dout): a fresh forward(x2), backward(dout)."""
    difference = _differs(got, expected)
    if difference is None:
        return True
    hint = None
    if stale is not None and matching_hint(got, [("stale", stale)], right):
        hint = (f"it was computed from the first forward's {cached}: forward must store "
                f"self.{cached} = {cached} every time it runs")
    return fail(with_hint(f"{cls}: after forward(x1), forward(x2), backward(dout), {label} "
                           f"differs from a fresh layer's after forward(x2), backward(dout) "
                           f"({difference})", hint))
