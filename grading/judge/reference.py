"""The judge's own layers and the book's network parts (the spiral data: network.spiral).

The plug-in model tests (grading/judge/suites/network.py) build the book's two-layer
network from these, swap in one class of the submission, and compare its training with
the all-reference network's. The Gradescope zip ships grading/judge but not solutions/,
so the judge keeps its own copy of the reference here; the selftest proves the two agree
(every reference seed must earn full marks, the network tests included, with the
submission's classes taken from solutions/).

Shapes: x (N, D), W (D, H), b (H,), out (N, H); t one-hot (N, C).
"""
import numpy as np

from network.spiral import arms as spiral   # noqa: F401  (R.spiral in the suites: one generator for make train and the judge)


class MatMul:
    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        self.x = x
        return x @ self.params[0]

    def backward(self, dout):
        self.grads[0][...] = self.x.T @ dout
        return dout @ self.params[0].T


class Bias:
    """out = x + b (the book's Repeat node): MatMul followed by Bias is an Affine."""

    def __init__(self, b):
        self.params, self.grads = [b], [np.zeros_like(b)]

    def forward(self, x):
        return x + self.params[0]

    def backward(self, dout):
        self.grads[0][...] = dout.sum(axis=0)
        return dout


class Sigmoid:
    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        self.out = 1.0 / (1.0 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)


class Affine:
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        self.x = x
        return x @ W + b

    def backward(self, dout):
        W, _ = self.params
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = dout.sum(axis=0)
        return dout @ W.T


class SoftmaxWithLoss:
    """Mean cross-entropy of softmax(scores) against one-hot labels t."""

    def __init__(self):
        self.y = self.t = None

    def forward(self, scores, t):
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        self.y, self.t = exp / exp.sum(axis=1, keepdims=True), t
        return float(-np.sum(t * np.log(self.y + 1e-7)) / len(t))

    def backward(self):
        return (self.y - self.t) / len(self.t)


class SGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g
