"""Softmax with cross-entropy: the loss layer on top of the book's two-layer network.

Provided, not an exercise: the kata's four classes are the layers below it.
"""
import numpy as np


def softmax(scores):
    """(N, C) scores -> (N, C) probabilities, each row summing to 1. Shifted by the row's
    maximum first, so that exp never overflows; the result is the same."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy_error(probs, labels):
    """Mean of -log(probability of the right class). probs: (N, C); labels: (N,) class indices.
    The small constant keeps log away from log(0) = -inf."""
    n = probs.shape[0]
    return float(-np.log(probs[np.arange(n), labels] + 1e-7).mean())


class SoftmaxWithLoss:
    """forward(scores (N, C), t (N, C) one-hot or (N,) labels) -> loss, a float;
    backward(dout=1) -> dscores (N, C) = (probs - one-hot) * dout / N."""

    def __init__(self):
        self.params, self.grads = [], []
        self.probs = None
        self.labels = None

    def forward(self, scores, t):
        self.labels = t.argmax(axis=1) if t.ndim == 2 else t
        self.probs = softmax(scores)
        return cross_entropy_error(self.probs, self.labels)

    def backward(self, dout=1.0):
        n = self.probs.shape[0]
        dscores = self.probs.copy()
        dscores[np.arange(n), self.labels] -= 1.0
        return dscores * (dout / n)
