"""Public tests for Affine (layers.py): one test per check (kata_model, kata_layers, kata_sgd).

The checks and their messages live there, shared with the notebook.
PYTEST_DONT_REWRITE
"""
import pytest

from kata_progress import CHECKS

CHECK = dict(CHECKS['Affine'])


def test_interface(layers):
    CHECK['interface'](layers.Affine)


def test_in_a_model(layers):
    CHECK['in a model'](layers.Affine)


def test_forward_shape(layers):
    CHECK['forward shape'](layers.Affine)


def test_forward_values(layers):
    CHECK['forward values'](layers.Affine)


def test_backward_shapes(layers):
    CHECK['backward shapes'](layers.Affine)


@pytest.mark.parametrize("grad", ['dx', 'dW', 'db'])
def test_backward_gradient_check(layers, grad):
    CHECK[f"backward gradient check ({grad})"](layers.Affine)


def test_backward_writes_grads_in_place(layers):
    CHECK['backward writes grads in place'](layers.Affine)


def test_arguments_unchanged(layers):
    CHECK['arguments unchanged'](layers.Affine)
