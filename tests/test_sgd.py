"""Public tests for SGD (optimizer.py): params[i] -= lr * grads[i].

PYTEST_DONT_REWRITE: every assert carries its own message.
"""
import numpy as np
from pytest_check import check


def data(seed):
    """params [W (3, 4), b (4,)] and grads of the same shapes, float64."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    return params, grads


def test_default_learning_rate(optimizer):
    default_lr, given_lr = optimizer.SGD().lr, optimizer.SGD(lr=0.5).lr
    with check:
        assert default_lr == 0.01, (
            f"SGD().lr is {default_lr!r}: the default learning rate is 0.01 "
            "(def __init__(self, lr=0.01))")
    with check:
        assert given_lr == 0.5, (
            f"SGD(lr=0.5).lr is {given_lr!r}: store the argument, self.lr = lr")


def _step_error(name, before, after, grad, lr):
    """A message for a wrong update of one parameter, or None if right."""
    if np.allclose(after, before - lr * grad):
        return None
    if np.array_equal(after, before):
        return f"SGD.update left {name} unchanged: params[i] -= self.lr * grads[i]"
    if np.allclose(after, before + lr * grad):
        return f"SGD.update moved {name} up the gradient: subtract, params[i] -= self.lr * grads[i]"
    if np.allclose(after, before - grad):
        return f"SGD.update forgot the learning rate for {name}: params[i] -= self.lr * grads[i]"
    return f"SGD.update: {name} should become {name} - lr * grad: params[i] -= self.lr * grads[i]"


def test_update_values(optimizer):
    params, grads = data(1)
    before = [p.copy() for p in params]
    optimizer.SGD(lr=0.1).update(params, grads)
    for i, name in enumerate(["params[0]", "params[1]"]):
        message = _step_error(name, before[i], np.asarray(params[i]), grads[i], 0.1)
        with check:
            assert message is None, message


def test_update_uses_default_lr(optimizer):
    params, grads = data(2)
    before = [p.copy() for p in params]
    optimizer.SGD().update(params, grads)
    message = _step_error("params[0]", before[0], np.asarray(params[0]), grads[0], 0.01)
    assert message is None, f"{message} (with the default lr 0.01, use self.lr)"


def test_update_in_place(optimizer):
    params, grads = data(3)
    arrays = list(params)  # the layers hold these very arrays
    before = [p.copy() for p in params]
    optimizer.SGD(lr=0.1).update(params, grads)
    for i in range(2):
        with check:
            assert params[i] is arrays[i], (
                f"SGD.update put a new array in params[{i}] instead of changing the "
                f"existing one: write params[{i}] -= self.lr * grads[{i}], not "
                f"params[{i}] = params[{i}] - ... (the layers hold the same arrays "
                "and would never see the new one)")
        with check:
            assert params[i] is not arrays[i] or not np.array_equal(arrays[i], before[i]), (
                f"SGD.update left params[{i}] unchanged: params[{i}] -= self.lr * grads[{i}]")


def test_update_leaves_grads_alone(optimizer):
    params, grads = data(4)
    before = [g.copy() for g in grads]
    optimizer.SGD(lr=0.1).update(params, grads)
    for i in range(2):
        with check:
            assert np.array_equal(grads[i], before[i]), (
                f"SGD.update changed grads[{i}]: only params are updated")
