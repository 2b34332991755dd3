"""Public tests for Sigmoid (layers.py): one test per check (kata_model, kata_layers, kata_sgd).

The checks and their messages live there, shared with the notebook.
PYTEST_DONT_REWRITE
"""
import pytest

from kata_progress import CHECKS

CHECK = dict(CHECKS['Sigmoid'])


def test_interface(layers):
    CHECK['interface'](layers.Sigmoid)


def test_in_a_model(layers):
    CHECK['in a model'](layers.Sigmoid)


def test_forward_shape(layers):
    CHECK['forward shape'](layers.Sigmoid)


def test_forward_values(layers):
    CHECK['forward values'](layers.Sigmoid)


def test_backward_shapes(layers):
    CHECK['backward shapes'](layers.Sigmoid)


@pytest.mark.parametrize("grad", ['dx'])
def test_backward_gradient_check(layers, grad):
    CHECK[f"backward gradient check ({grad})"](layers.Sigmoid)


def test_arguments_unchanged(layers):
    CHECK['arguments unchanged'](layers.Sigmoid)
