"""The student's objects, as the hidden tests drive them (see grading.judge.subject).

A plain StudentError becomes an AssertionError with a one-line message that names the
call and the shapes it got and, when the error is a known mistake, gives a hint
(grading.judge.suites.diagnose). Timeouts and crashes go on unchanged: the engine
reports them as they are.
"""
import re

import numpy as np

from grading.judge.subject import StudentError
from grading.judge.suites.diagnose import exception_hint, one_line, with_hint


def _error_text(exc):
    """The student's error, one line: numpy's gufunc signature and empty code lines cut."""
    text = one_line(exc)
    text = re.sub(r", with gufunc signature \S+", "", text)
    return re.sub(r", in (\w+): \)", r", in \1)", text)


def _shapes(names, arrays):
    return ", ".join(f"{name} of shape {np.shape(a)}" for name, a in zip(names, arrays))


ARG_NAMES = {"MatMul": ("W",), "Affine": ("W", "b"), "forward": ("x",), "backward": ("dout",)}


class Student:
    """One object of the submission: its calls raise AssertionError with a hint."""

    def __init__(self, subject, cls, *arrays, **kwargs):
        self.cls = cls
        given = _shapes(ARG_NAMES.get(cls, ()), arrays) or ", ".join(
            f"{k}={v!r}" for k, v in kwargs.items())
        self.made = f"{cls}({given})"
        # What error hints may name: W's shape and the batch size of the last call.
        self.context = {"W": np.shape(arrays[0])} if cls in ("MatMul", "Affine") else {}
        self.handle = self._guard(self.made, "__init__", subject.new, cls, *arrays, **kwargs)

    def _guard(self, what, method, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StudentError as exc:
            if type(exc) is not StudentError:
                raise
            if exc.info.get("type") == "Missing":  # no such class, or a file did not load
                raise AssertionError(one_line(exc.info.get("message", ""))) from None
            hint = exception_hint(exc.info, self.cls, method, self.context)
            message = with_hint(f"{what} raised {_error_text(exc)}", hint)
            raise AssertionError(one_line(message)) from None

    def call(self, method, *arrays):
        what = f"{self.made}.{method}({_shapes(ARG_NAMES.get(method, ()), arrays)})"
        if arrays and np.ndim(arrays[0]) == 2:
            self.context["N"] = np.shape(arrays[0])[0]
        return self._guard(what, method, self.handle.call, method, *arrays)

    def forward(self, x):
        return self.call("forward", x).value

    def backward(self, dout):
        return self.call("backward", dout).value

    def read(self, attr):
        return self._guard(f"reading {self.cls}.{attr}", attr, self.handle.read, attr)

    def hold(self, attr):
        held = self._guard(f"reading {self.cls}.{attr}", attr, self.handle.hold, attr)
        return _Held(self, held)

    def update(self, params, grads):
        what = f"{self.made}.update with {len(params)} parameter(s)"
        return self._guard(what, "update", self.handle.sgd_update, params, grads)


class _Held:
    def __init__(self, student, held):
        self.student, self.held = student, held

    def values(self):
        return self.student._guard(f"reading {self.student.cls}.grads", "grads",
                                   self.held.values)

    def subtract(self, arrays):
        return self.student._guard(f"changing the arrays gathered from {self.student.cls}",
                                   "update", self.held.subtract, arrays)
