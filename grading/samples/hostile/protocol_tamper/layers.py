# tries: to write garbage, a 4 GB frame header and a lying answer into the socket to the judge
import numpy as np

import os
import stat


def judge_socket():
    """The fd of the socket to the judge, found by looking at every open fd."""
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                return int(name)
        except OSError:
            pass
    raise RuntimeError("no socket found")


def lie(answer):
    """A well-formed frame whose content claims something the judge never asked for."""
    import json
    payload = json.dumps(answer).encode()
    os.write(judge_socket(), len(payload).to_bytes(4, "big") + payload)


class MatMul:
    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        os.write(judge_socket(), b'\x00\x00\x00\x05hello')
        self.x = x
        return x @ self.params[0]

    def backward(self, dout):
        W = self.params[0]
        self.grads[0][...] = np.dot(self.x.T, dout)
        return np.dot(dout, W.T)


class Sigmoid:
    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        os.write(judge_socket(), b'\xff\xff\xff\xff')
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
        lie({'ok': {'result': {'kind': 'array', 'dtype': '<f8', 'shape': [1000000], 'data': {'$b64': ''}}, 'args_after': []}})
        os._exit(0)

    def backward(self, dout):
        W, b = self.params
        self.grads[0][...] = np.dot(self.x.T, dout)
        self.grads[1][...] = dout.sum(axis=0)
        return np.dot(dout, W.T)
