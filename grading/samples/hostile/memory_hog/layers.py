# tries: to allocate 80 GB in MatMul.forward and to grow a list of 100 MB arrays without end in Sigmoid.forward
import numpy as np


class MatMul:
    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        waste = np.ones(10**10)
        self.x = x
        return x @ self.params[0] + waste[0] - 1

    def backward(self, dout):
        W = self.params[0]
        self.grads[0][...] = np.dot(self.x.T, dout)
        return np.dot(dout, W.T)


class Sigmoid:
    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        hoard = []
        while True:
            hoard.append(np.empty(12_500_000))  # 100 MB a step, untouched: fast to fail

    def backward(self, dout):
        return dout * self.out * (1 - self.out)


class Affine:
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        self.x = x
        W, b = self.params
        return np.dot(x, W) + b

    def backward(self, dout):
        W, b = self.params
        self.grads[0][...] = np.dot(self.x.T, dout)
        self.grads[1][...] = dout.sum(axis=0)
        return np.dot(dout, W.T)
