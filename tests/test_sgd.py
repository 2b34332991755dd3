"""Public tests for SGD (optimizer.py): one test per check (kata_model, kata_layers, kata_sgd).

The checks and their messages live there, shared with the notebook.
PYTEST_DONT_REWRITE
"""

from kata_progress import CHECKS

CHECK = dict(CHECKS['SGD'])


def test_default_learning_rate(optimizer):
    CHECK['default learning rate'](optimizer.SGD)


def test_update_values(optimizer):
    CHECK['update values'](optimizer.SGD)


def test_update_uses_lr(optimizer):
    CHECK['update uses lr'](optimizer.SGD)


def test_update_in_place(optimizer):
    CHECK['update in place'](optimizer.SGD)


def test_grads_unchanged(optimizer):
    CHECK['grads unchanged'](optimizer.SGD)


def test_one_optimizer_for_several_layers(optimizer):
    CHECK['one optimizer for several layers'](optimizer.SGD)
