"""Batches (Subject.requests, Student's `then`): the child runs exactly what the calls one
by one would run, each step keeps the time limit of one call, and the answers surface in
the test where the calls are made."""
import numpy as np
import pytest

from grading.judge.subject import (LocalSubject, StudentError, StudentTimeout, call_step,
                                   new_step, read_step)
from grading.judge.suites import student as S

COUNTING = """
import numpy as np
calls = []

class MatMul:
    def __init__(self, W):
        self.params, self.grads = [W], [np.zeros_like(W)]
    def forward(self, x):
        calls.append("forward")
        if x[0, 0] < 0:
            raise ValueError("negative input")
        if x[0, 0] > 100:
            import time
            time.sleep(x[0, 0] / 1000)
        return x @ self.params[0]
    def backward(self, dout):
        calls.append("backward")
        return dout

class Probe:
    def __init__(self):
        self.params, self.grads = [np.array([float(len(calls))])], []
"""


def _batch(x):
    return [new_step("MatMul", np.eye(2)), call_step("forward", x), call_step("backward", x),
            read_step("grads")]


def _calls_so_far(subject):
    """How many student methods ran in the child so far (read through a new Probe)."""
    probe = subject.new("Probe")
    return int(probe.read("params")[0][0])


@pytest.mark.parametrize("where", ["sandbox", "local"])
def test_a_batch_stops_where_the_calls_would(sandbox, where):
    subject = (sandbox.subject({"layers": COUNTING}) if where == "sandbox"
               else LocalSubject({"layers": COUNTING}))
    good = subject.requests(_batch(np.ones((1, 2))))
    assert [type(o) for o in good] == [int, dict, dict, dict]
    assert _calls_so_far(subject) == 2
    bad = subject.requests(_batch(-np.ones((1, 2))))
    assert type(bad[-1]) is StudentError and "negative input" in str(bad[-1]) and len(bad) == 2
    assert _calls_so_far(subject) == 3          # forward ran and raised; backward did not
    subject.close()


def test_each_step_has_the_time_of_one_call(quick):
    subject = quick.subject({"layers": COUNTING})
    slow = np.full((1, 2), 200.0)             # 0.2 s per forward, under the 0.5 s limit
    steps = [new_step("MatMul", np.eye(2))] + [call_step("forward", slow)] * 3
    outcomes = subject.requests(steps)        # 0.6 s in all: no step over its limit
    assert [type(o) for o in outcomes] == [int, dict, dict, dict]
    too_slow = np.full((1, 2), 600.0)
    outcomes = subject.requests([new_step("MatMul", np.eye(2)), call_step("forward", slow),
                                 call_step("forward", too_slow), call_step("forward", slow)])
    assert type(outcomes[-1]) is StudentTimeout and len(outcomes) == 3
    assert "forward() did not finish within 0.5 s" in str(outcomes[-1])
    subject.close()


def test_planned_answers_surface_at_the_call(sandbox):
    subject = sandbox.subject({"layers": COUNTING})
    bad = -np.ones((1, 2))
    layer = S.Student(subject, "MatMul", np.eye(2), then=[("forward", bad), ("backward", bad)])
    with pytest.raises(AssertionError, match="forward.*raised ValueError: negative input"):
        layer.forward(bad)                    # raised here, as without `then`
    assert not S.unused()                     # backward was never run nor planned
    layer = S.Student(subject, "MatMul", np.eye(2), then=[("forward", np.ones((1, 2)))])
    with pytest.raises(RuntimeError, match="grader bug"):
        layer.backward(np.ones((1, 2)))       # not the call planned next
    S.unused()
    layer = S.Student(subject, "MatMul", np.eye(2), then=[("forward", np.ones((1, 2)))])
    assert [s.made for s in S.unused()] == ["MatMul(W of shape (2, 2))"]
    subject.close()
