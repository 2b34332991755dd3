"""Public tests for MatMul (layers.py): one test per check (kata_model, kata_layers, kata_sgd).

The checks and their messages live there, shared with the notebook.
PYTEST_DONT_REWRITE
"""
import pytest

from kata_progress import CHECKS

CHECK = dict(CHECKS['MatMul'])


def test_interface(layers):
    CHECK['interface'](layers.MatMul)


def test_in_a_model(layers):
    CHECK['in a model'](layers.MatMul)


def test_forward_shape(layers):
    CHECK['forward shape'](layers.MatMul)


def test_forward_values(layers):
    CHECK['forward values'](layers.MatMul)


def test_backward_shapes(layers):
    CHECK['backward shapes'](layers.MatMul)


@pytest.mark.parametrize("grad", ['dx', 'dW'])
def test_backward_gradient_check(layers, grad):
    CHECK[f"backward gradient check ({grad})"](layers.MatMul)


def test_backward_writes_grads_in_place(layers):
    CHECK['backward writes grads in place'](layers.MatMul)


def test_arguments_unchanged(layers):
    CHECK['arguments unchanged'](layers.MatMul)
