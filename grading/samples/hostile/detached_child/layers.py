# tries: to leave a detached process behind (double fork + setsid), named kata-sleeper
import numpy as np

import os
import time


def leave_a_sleeper():
    first = os.fork()
    if first == 0:
        os.setsid()
        if os.fork() == 0:
            with open("/proc/self/comm", "w") as f:
                f.write("kata-sleeper")
            while True:
                time.sleep(0.05)
        os._exit(0)
    os.waitpid(first, 0)


class MatMul:
    def __init__(self, W):
        leave_a_sleeper()
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.params[0])

    def backward(self, dout):
        W = self.params[0]
        self.grads[0][...] = np.dot(self.x.T, dout)
        return np.dot(dout, W.T)


class Sigmoid:
    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

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
