"""What the sandbox tests share: a correct submission's sources, small submissions made
inline, and a view of the process table from outside the sandbox."""
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

GOOD_LAYERS = """
import numpy as np

class MatMul:
    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]
    def forward(self, x):
        self.x = x
        return x @ self.params[0]
    def backward(self, dout):
        self.grads[0][...] = self.x.T @ dout
        return dout @ self.params[0].T

class Sigmoid:
    def __init__(self):
        self.params, self.grads = [], []
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out
    def backward(self, dout):
        return dout * self.out * (1 - self.out)
"""
GOOD_OPTIMIZER = """
class SGD:
    def __init__(self, lr=0.01):
        self.lr = lr
    def update(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g
"""


def forward_source(body, prelude=""):
    """A submission whose MatMul.forward runs `body` (indented for a method)."""
    body = "\n".join("        " + line for line in body.strip("\n").splitlines())
    return {"layers": f"import numpy as np\n{prelude}\nclass MatMul:\n"
                      f"    def __init__(self, W):\n        self.W = W\n"
                      f"    def forward(self, x):\n{body}\n", "optimizer": ""}


def works(sandbox):
    subject = sandbox.subject({"layers": GOOD_LAYERS, "optimizer": GOOD_OPTIMIZER})
    try:
        out = subject.new("MatMul", np.eye(2)).forward(np.array([[1.0, 2.0]]))
        return np.array_equal(out, [[1.0, 2.0]])
    finally:
        subject.close()


def process_table():
    """{pid: (ppid, comm, state)} of every process, seen from outside the sandbox."""
    table = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            state, ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        table[int(pid)] = (int(ppid), comm, state)
    return table


def descendants(sandbox):
    """{pid: comm} of the live processes below the sandbox's fork server."""
    table = process_table()
    below, found = [sandbox._server.process.pid], {}
    while below:
        pid = below.pop()
        below += [p for p, (ppid, _, _) in table.items() if ppid == pid]
        if pid in table and table[pid][2] != "Z":
            found[pid] = table[pid][1]
    return found


def processes_named(name, sandbox):
    """Live processes with this comm below the sandbox's fork server."""
    return [pid for pid, comm in descendants(sandbox).items() if comm == name]


def children_of(pid):
    return [p for p, (ppid, _, _) in process_table().items() if ppid == pid]


def alive(pid):
    return process_table().get(pid, (0, "", "Z"))[2] != "Z"
