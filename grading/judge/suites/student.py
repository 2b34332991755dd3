"""The student's objects, as the hidden tests drive them (see grading.judge.subject).

A plain StudentError becomes an AssertionError with a one-line message that names the
call and the shapes it got and, when the error is a known mistake, gives a hint
(grading.judge.suites.diagnose). Timeouts and crashes go on unchanged: the engine
reports them as they are.

`then`: the calls a test makes on a new object right after making it, before any other
request. They travel with the "new" as one batch (each round trip to the sandbox costs
about a quarter of a millisecond, most of it the two processes taking turns), and the
test's own calls take their answers in order, errors included, at the very place they
would have been raised. The child runs exactly what it would have run call by call: a
batch stops at its first error, as the test does. A test that does not take them all,
in order, before any other request is a grader bug: it fails loudly (see `unused`).
"""
import collections
import re

import numpy as np

from grading.judge.subject import (Handle, StudentError, call_result, call_step, new_step,
                                   read_step)
from grading.judge.suites.diagnose import exception_hint, one_line, with_hint
from grading.sandbox.wire import decode

_waiting = []    # Students whose `then` answers are not all taken yet


def unused():
    """Students of the test that ran with `then` answers left (then forgotten: one test's
    grader bug must not fail the next)."""
    left = [s for s in _waiting if s.ahead]
    _waiting.clear()
    return left


def _settle(outcome, convert):
    if isinstance(outcome, StudentError):
        raise outcome
    return convert(outcome)


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

    def __init__(self, subject, cls, *arrays, then=(), **kwargs):
        self.cls = cls
        given = _shapes(ARG_NAMES.get(cls, ()), arrays) or ", ".join(
            f"{k}={v!r}" for k, v in kwargs.items())
        self.made = f"{cls}({given})"
        # What error hints may name: W's shape and the batch size of the last call.
        self.context = {"W": np.shape(arrays[0])} if cls in ("MatMul", "Affine") else {}
        self.ahead = collections.deque()
        if any(s.ahead for s in _waiting):
            raise RuntimeError(f"grader bug: {self.made} made before the calls planned "
                               "for another object were taken")
        steps = [new_step(cls, *arrays, **kwargs)]
        for method, *args in then:
            steps.append(read_step(*args) if method == "read" else call_step(method, *args))
        outcomes = subject.requests(steps)
        self.handle = self._guard(self.made, "__init__", _settle, outcomes[0],
                                  lambda number: Handle(subject, number, cls))
        self.ahead.extend(zip(then, outcomes[1:]))
        if self.ahead:
            _waiting.append(self)

    def _planned(self, step):
        """The answer planned for `step` (the next of `then`), or None: ask now."""
        if not self.ahead and not any(s.ahead for s in _waiting):
            return None
        planned = self.ahead[0][0] if self.ahead else ()
        if len(planned) != len(step) or any(a is not b and not (isinstance(a, str) and a == b)
                                            for a, b in zip(planned, step)):
            raise RuntimeError(f"grader bug: {self.made}.{step[0]} is not the call planned next")
        return self.ahead.popleft()[1]

    def _unplanned(self, what):
        """For requests `then` cannot hold: none may come while planned answers wait."""
        if any(s.ahead for s in _waiting):
            raise RuntimeError(f"grader bug: {what} before the planned calls were taken")

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
        planned = self._planned((method, *arrays))
        if planned is not None:
            return self._guard(what, method, _settle, planned, call_result)
        return self._guard(what, method, self.handle.call, method, *arrays)

    def forward(self, x):
        return self.call("forward", x).value

    def backward(self, dout):
        return self.call("backward", dout).value

    def read(self, attr):
        planned = self._planned(("read", attr))
        if planned is not None:
            return self._guard(f"reading {self.cls}.{attr}", attr, _settle, planned, decode)
        return self._guard(f"reading {self.cls}.{attr}", attr, self.handle.read, attr)

    def hold(self, attr):
        self._unplanned(f"{self.cls}.hold")
        held = self._guard(f"reading {self.cls}.{attr}", attr, self.handle.hold, attr)
        return _Held(self, held)

    def update(self, params, grads):
        what = f"{self.made}.update with {len(params)} parameter(s)"
        self._unplanned(what)
        return self._guard(what, "update", self.handle.sgd_update, params, grads)


class _Held:
    def __init__(self, student, held):
        self.student, self.held = student, held

    def values(self):
        self.student._unplanned(f"{self.student.cls}.grads held")
        return self.student._guard(f"reading {self.student.cls}.grads", "grads",
                                   self.held.values)

    def subtract(self, arrays):
        self.student._unplanned(f"{self.student.cls}: held arrays changed")
        return self.student._guard(f"changing the arrays gathered from {self.student.cls}",
                                   "update", self.held.subtract, arrays)
