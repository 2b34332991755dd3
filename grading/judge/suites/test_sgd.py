"""Hidden suite for SGD: each params[i] becomes p - lr * g, in place, grads untouched.

SGD is judged on plain arrays made here, never on the student's layers: a broken layer
costs no SGD points. `update` always runs on aggregate copies of the lists (as a model
hands over the lists it gathered), and the judge sees both the original arrays (what the
layers hold) and the list items afterwards (see Runner.sgd_update). The value tests read
the list items, so a rebinding update loses the in-place test only.
"""
import numpy as np

from grading.judge.suites import checks as C
from grading.judge.suites import network
from grading.judge.suites.checks import distinct_messages  # noqa: F401 (autouse fixture)

CLS = "SGD"


def _step_hints(p, g, lr):
    return [("it equals p + lr * g: step against the gradient (subtract the step)", p + lr * g),
            ("it equals p - g: multiply the gradient by the learning rate self.lr", p - g),
            ("it equals p - 0.01 * g: use self.lr, not a fixed 0.01", p - 0.01 * g),
            ("it equals p - lr * lr * g: use lr once", p - lr * lr * g),
            ("the parameter did not change: change the arrays themselves in place "
             "(params[i] -= ...); p = p - ... only rebinds a local name", p)]


def _params(rng, shapes):
    params = [rng.standard_normal(s) for s in shapes]
    grads = [rng.standard_normal(s) for s in shapes]
    return params, grads


def _expect_steps(result, params, grads, lr, what):
    """The list items after update must be p - lr * g."""
    items = result["list_items"]
    ok = True
    for i, (item, p, g) in enumerate(zip(items, params, grads)):
        label = f"params[{i}] after {what}"
        if C.expect_array(item, p.shape, label):
            ok &= C.expect_values(item, p - lr * g, label, "p - lr * g", _step_hints(p, g, lr))
        else:
            ok = False
    return ok


def test_update_subtracts_lr_times_grad(subject, rng):
    (p,), (g,) = _params(rng, [(3, 4)])
    sgd = C.Student(subject, CLS, lr=0.1)
    _expect_steps(sgd.update([p], [g]), [p], [g], 0.1, "SGD(lr=0.1).update")


def test_updates_arrays_in_place(subject, rng):
    params, grads = _params(rng, [(4, 3), (3,)])
    sgd = C.Student(subject, CLS, lr=0.1)
    result = sgd.update(params, grads)
    for i, p in enumerate(params):
        original, item = result["params"][i], result["list_items"][i]
        if not C.expect_array(original, p.shape, f"params[{i}] after SGD.update"):
            continue
        if np.array_equal(original, p):
            if isinstance(item, np.ndarray) and not np.array_equal(item, p):
                C.fail(f"SGD.update put a new array in params[{i}] and left the original "
                       "unchanged: the layers hold the original, so they never see the step; "
                       "change the array itself in place (params[i] -= ...), never put a "
                       "new array in the list (params[i] = ...)")
            else:
                C.fail(f"SGD.update did not change the array in params[{i}]: change the "
                       "array itself in place (params[i] -= ...)")
        elif not np.array_equal(original, item):
            C.fail(f"after SGD.update the array in params[{i}] is not the one the list "
                   "holds: change the arrays themselves in place (params[i] -= ...)")


def test_leaves_grads_unchanged(subject, rng):
    params, grads = _params(rng, [(3, 4), (4,)])
    sgd = C.Student(subject, CLS, lr=0.1)
    result = sgd.update(params, grads)
    for i, (after, g) in enumerate(zip(result["grads"], grads)):
        C.expect_unchanged(after, g, f"SGD.update changed grads[{i}]",
                           [("it now holds lr * grads[i]: compute lr * g as a new array, "
                             "do not scale the gradient in place (g *= lr)", 0.1 * g),
                            ("it is now all zeros: leave grads to the layers", np.zeros_like(g)),
                            ("it now holds -lr * grads[i]: do not change grads", -0.1 * g)])


def test_honours_learning_rate(subject, rng):
    for lr in (0.5, 0.003):
        (p,), (g,) = _params(rng, [(2, 3)])
        sgd = C.Student(subject, CLS, lr=lr)
        _expect_steps(sgd.update([p], [g]), [p], [g], lr, f"SGD(lr={lr}).update")


def test_default_learning_rate(subject, rng):
    (p,), (g,) = _params(rng, [(3, 2)])
    sgd = C.Student(subject, CLS)
    _expect_steps(sgd.update([p], [g]), [p], [g], 0.01, "SGD().update (default lr = 0.01)")


def test_several_params_of_different_shapes(subject, rng):
    shapes = [(3, 4), (4,), (4, 2), (2,)]
    params, grads = _params(rng, shapes)
    sgd = C.Student(subject, CLS, lr=0.05)
    _expect_steps(sgd.update(params, grads), params, grads, 0.05,
                  "SGD(lr=0.05).update with 4 parameters")


def test_repeated_updates(subject, rng):
    (p,), (g1,) = _params(rng, [(2, 2)])
    g2 = rng.standard_normal((2, 2))
    sgd = C.Student(subject, CLS, lr=0.2)
    first = sgd.update([p], [g1])
    p1 = p - 0.2 * g1
    if not _expect_steps(first, [p], [g1], 0.2, "a first SGD(lr=0.2).update"):
        return
    second = sgd.update([p1], [g2])["list_items"][0]
    what = "params[0] after a second update with the same SGD(lr=0.2)"
    if C.expect_array(second, p1.shape, what):
        C.expect_values(second, p1 - 0.2 * g2, what, "p - lr * g",
                        [("it equals p - 0.1 * g: the learning rate changed between updates; "
                          "update must not change self.lr", p1 - 0.1 * g2)]
                        + _step_hints(p1, g2, 0.2))


def test_in_the_network(subject, rng):
    network.check_network(subject, rng, CLS)
