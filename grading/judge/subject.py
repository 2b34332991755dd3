"""The submission as the judge sees it: handles to objects that live elsewhere.

A hidden test asks for `subject.new("Affine", W, b)` and gets a `Handle`; every request
crosses a boundary as plain data, and every array comes back as a fresh base-class
ndarray built by the judge from dtype, shape and bytes. `LocalSubject` runs the student's
code in this process (trusted code only: the reference, the catalogue); the sandboxed
subject in `grading.judge.remote` runs it in a sandboxed child process.
"""
from dataclasses import dataclass

import numpy as np

from grading.sandbox import runner
from grading.sandbox.wire import Foreign, decode, encode


class StudentError(Exception):
    """The student's code raised, or could not be loaded; `str()` is for the student."""

    def __init__(self, info):
        self.info = info
        text = f"{info.get('type', 'Error')}: {info.get('message', '')}"
        if info.get("where"):
            text += f" ({info['where']})"
        super().__init__(text)


class StudentTimeout(StudentError):
    """The student's code ran past its time limit and was stopped."""


class StudentCrash(StudentError):
    """The process running the student's code ended (exit, signal, memory limit)."""


def encode_input(array):
    """Test data on its way to the student: always float64 unless the test says otherwise."""
    return encode(np.asarray(array))


@dataclass
class Call:
    value: object        # what the method returned (ndarray or Foreign)
    args_after: list     # the argument arrays' values after the call


def new_step(cls_name, *arrays, **kwargs):
    """The request that makes cls_name(*arrays, **kwargs): (op, fields)."""
    return "new", {"cls_name": cls_name, "args": [encode_input(a) for a in arrays],
                   "kwargs": kwargs}


def call_step(method, *arrays, handle=None):
    """The request obj.method(*arrays) (handle None: the object a batch's "new" made)."""
    return "call", {"handle": handle, "method": method, "args": [encode_input(a) for a in arrays]}


def read_step(attr, handle=None):
    return "read", {"handle": handle, "attr": attr}


def call_result(answer):
    return Call(decode(answer["result"]), [decode(a) for a in answer["args_after"]])


class Handle:
    """One student object (a layer or an optimizer)."""

    def __init__(self, subject, number, cls_name):
        self.subject, self.number, self.cls_name = subject, number, cls_name

    def call(self, method, *arrays):
        op, fields = call_step(method, *arrays, handle=self.number)
        return call_result(self.subject.request(op, **fields))

    def forward(self, x):
        return self.call("forward", x).value

    def backward(self, dout):
        return self.call("backward", dout).value

    def read(self, attr):
        """Values of `obj.params` or `obj.grads` now: a list of arrays, or `Foreign`."""
        op, fields = read_step(attr, handle=self.number)
        return decode(self.subject.request(op, **fields))

    def hold(self, attr):
        """Keep the list's current items, like `model.grads += layer.grads`; see `Held`."""
        return Held(self.subject, self.subject.request("hold", handle=self.number, attr=attr))

    def sgd_update(self, params, grads):
        """`update` on aggregate copies of the lists: values of the original arrays after."""
        answer = self.subject.request("sgd_update", handle=self.number,
                                      params=[encode_input(p) for p in params],
                                      grads=[encode_input(g) for g in grads])
        return {key: [decode(v) for v in values] for key, values in answer.items()}


class Held:
    def __init__(self, subject, ref):
        self.subject, self.ref = subject, ref

    def values(self):
        return decode(self.subject.request("held", ref=self.ref))

    def subtract(self, arrays):
        """kept[i] -= arrays[i], in place: a model's optimizer step on the kept arrays."""
        self.subject.request("subtract", ref=self.ref, values=[encode_input(a) for a in arrays])


class Subject:
    """A submission's classes. Subclasses implement `request(op, **fields)`."""

    def new(self, cls_name, *arrays, **kwargs):
        op, fields = new_step(cls_name, *arrays, **kwargs)
        return Handle(self, self.request(op, **fields), cls_name)

    def request(self, op, **fields):
        raise NotImplementedError

    def requests(self, steps):
        """Several requests [(op, fields)] in turn, as a test makes them one after another:
        a list of each one's answer, ending early with the StudentError of the first that
        raised (the ones after it are not run). A `handle` of None in a step's fields
        means the object that the first step, a "new", made (grading.sandbox.runner.answers)."""
        raise NotImplementedError

    def close(self):
        """Free what the subject holds (a process, for the sandboxed one)."""


class LocalSubject(Subject):
    """Runs the code in this process: only for code we trust (reference, catalogue)."""

    def __init__(self, sources):
        self.runner = runner.Runner(sources)

    def request(self, op, **fields):
        answer = runner.serve(self.runner, op, fields)
        if "error" in answer:
            raise StudentError(answer["error"])
        return answer["ok"]

    def requests(self, steps):
        batch = [{"op": op, "fields": fields} for op, fields in steps]
        return [answer["ok"] if "ok" in answer else StudentError(answer["error"])
                for answer in runner.answers(self.runner, batch)]
