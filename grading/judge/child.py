"""`RemoteSubject`: one class's tests, talking to the student's code in a sandboxed child.

A child is forked fresh (new namespaces, see grading.sandbox.isolate) for each file of a
submission: MatMul, Sigmoid and Affine all load layers.py, so with `keep=True` a class
whose tests ended well leaves its child to the next class of the same sources, and that
class starts with a fresh budget in the same process. A class whose child crashed, timed
out or used up its budget leaves nothing: the next class gets a fresh child. A fork and
new namespaces cost about 13 ms of CPU; sharing saves two of the four per submission.

    subject = sandbox.subject(sources, deadline, previous=subject_before, keep=True)
    ...
    subject.close()     # the class's tests are over (the child may live on, see keep)
    subject.finish()    # the child is killed; then .output and .exit_info
"""
import math
import os
import signal
import time

from grading.judge.answers import checked_answer
from grading.judge.subject import StudentCrash, StudentError, StudentTimeout, Subject
from grading.sandbox import protocol

OUTPUT_SHOWN = 4096        # bytes of a child's output kept for feedback
GARBAGE = "the submission's process sent garbage"


def _doing(op, fields):
    return {"new": f"creating {fields.get('cls_name')}",
            "call": f"{fields.get('method')}()",
            "read": f"reading .{fields.get('attr')}",
            "hold": f"reading .{fields.get('attr')}",
            "held": "reading the kept arrays",
            "subtract": "updating the kept arrays",
            "sgd_update": "update()"}.get(op, op)


def describe_exit(status):
    """A student-readable account of how the child ended."""
    if status.get("code") == protocol.ISOLATION_EXIT:
        return ("the sandbox could not be set up around it (a problem of the grader's "
                "machine, not of your code: please tell the instructor)")
    if status.get("code") == protocol.BROKEN_EXIT:
        return ("it lost its connection to the grader (did the code close or write to "
                "file descriptors it did not open?)")
    if "code" in status:
        return f"it exited with code {status['code']} (os._exit or sys.exit outside a method?)"
    if status.get("by_us"):
        return ("it closed its connection to the grader and went on running (did the code "
                "close or write to file descriptors it did not open?)")
    if "signal" in status:
        number = status["signal"]
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        why = {"SIGSEGV": ": a segmentation fault", "SIGKILL": " (out of memory?)",
               "SIGXFSZ": ": a file grew over the size limit"}.get(name, "")
        return f"it was killed by {name}{why}"
    return status.get("lost", "it could not be found")


def _read_output(fd):
    size = os.fstat(fd).st_size
    text = os.pread(fd, OUTPUT_SHOWN, 0).decode("utf-8", "replace")
    if size > OUTPUT_SHOWN:
        text += f"\n[... {size - OUTPUT_SHOWN} more bytes of output not shown]"
    return text


class RemoteSubject(Subject):
    """The student's classes, alive in a sandboxed child; see grading.judge.subject.

    `previous`: the subject of the class graded before, whose child this one takes over
    when it was kept (closed with `keep`, nothing failed) and holds the same `sources`;
    otherwise that child is killed now. `cpu_share`: how many classes the child may serve,
    each with the CPU time one class has alone."""

    def __init__(self, sandbox, sources, deadline=None, previous=None, keep=False,
                 cpu_share=1):
        self.sandbox, self.timeout, self.sources = sandbox, sandbox.timeout, sources
        self.output, self.exit_info = "", None
        self._failure = None     # (exception class, info) once the child is gone
        self._keep, self._kept, self._passed_on = keep, False, False
        self._loaded = False
        self._sid = None         # no child (never started, or passed on)
        child = previous._pass_on(sources) if previous is not None else None
        if child is None and previous is not None:
            previous.finish()
        if deadline is not None and time.monotonic() >= deadline:
            if child is not None:
                self._sid, self._generation, self._sock, self._output_fd = child
                self._finish()
            self.exit_info = {}
            self._failure = (StudentTimeout, self._budget_info("submission"))
            return
        if child is not None:
            self._sid, self._generation, self._sock, self._output_fd = child
            self._loaded = True
        else:
            cpu_seconds = (math.ceil(self.timeout) + 1) * max(1, int(cpu_share))
            self._sid, self._generation, self._sock, self._output_fd = sandbox._spawn(
                cpu_seconds)
        # Wall-clock budgets: this class's (from its start, so that a fork server
        # started again in between is not counted), and the submission's.
        self._budgets = [(time.monotonic() + sandbox.class_budget, "class")]
        if deadline is not None:
            self._budgets.append((deadline, "submission"))
        if child is not None:
            return
        try:
            protocol.send(self._sock, {"sources": sources}, time.monotonic() + self.timeout)
        except OSError:
            pass                 # the child is gone already: the first request says how
        except protocol.ProtocolError:
            self._failure = (StudentError, {"type": "TooLarge", "where": "",
                                            "message": "the submitted files are too large"})

    def request(self, op, **fields):
        outcome = self.requests([(op, fields)])[0]
        if isinstance(outcome, StudentError):
            raise outcome
        return outcome

    def requests(self, steps):
        """See Subject.requests. Sent as one batch; the child sends each answer as soon as
        it has it, and each has the time limit of one call, counted from the one before."""
        if self._failure:
            return [self._failure[0](self._failure[1])]     # fail fast, never wait again
        if len(steps) == 1:
            op, fields = steps[0]
            message = {"op": op, "fields": fields}
        else:
            message = {"op": "batch", "fields": {"steps": [{"op": op, "fields": fields}
                                                           for op, fields in steps]}}
        outcomes = []
        try:
            self._send(protocol.pack(message), *steps[0])
            for op, fields in steps:
                answer = self._receive(op, fields)
                if "error" in answer:
                    outcomes.append(StudentError(answer["error"]))
                    break
                outcomes.append(answer["ok"])
        except StudentError as exc:      # the child timed out or ended: it is gone now
            outcomes.append(exc)
        return outcomes

    def _send(self, frame, op, fields):
        budget_end, budget = min(self._budgets)
        self._call_end = time.monotonic() + self.timeout
        try:
            protocol.send_frame(self._sock, frame, min(self._call_end, budget_end))
        except TimeoutError:
            self._timed_out(op, fields)
        except (EOFError, OSError):
            self._fail(StudentCrash, None)

    def _receive(self, op, fields):
        """The next answer, checked; the call's time runs from the answer before."""
        budget_end, budget = min(self._budgets)
        try:
            answer = checked_answer(op, protocol.recv(self._sock, min(self._call_end, budget_end)))
        except TimeoutError:
            self._timed_out(op, fields)
        except (EOFError, OSError):
            self._fail(StudentCrash, None)
        except protocol.ProtocolError:
            self._fail(StudentCrash, GARBAGE)
        self._loaded = True
        self._call_end = time.monotonic() + self.timeout
        return answer

    def _timed_out(self, op, fields):
        budget_end, budget = min(self._budgets)
        if budget_end < self._call_end:
            self._fail(StudentTimeout, self._budget_info(budget)["message"])
        doing = _doing(op, fields) if self._loaded else "loading your files"
        self._fail(StudentTimeout, f"{doing} did not finish within {self.timeout:g} s: "
                                   "an endless loop?")

    def _budget_info(self, budget):
        if budget == "class":
            seconds = self.sandbox.class_budget
            text = (f"the tests of this class used up their time budget ({seconds:g} s in all; "
                    f"one call may take {self.timeout:g} s): the tests not reached score 0 / "
                    f"이 클래스의 테스트 시간 예산({seconds:g}초)을 다 써서, 실행되지 못한 "
                    "테스트는 0점입니다")
        else:
            seconds = self.sandbox.submission_budget
            text = (f"the submission used up its time budget ({seconds:g} s for all classes): "
                    f"the tests not reached score 0 / 제출물 전체의 시간 예산({seconds:g}초)을 "
                    "다 써서, 실행되지 못한 테스트는 0점입니다")
        return {"type": "Timeout", "message": text, "where": ""}

    def _fail(self, kind, message):
        # After EOF the child is usually gone already; give it a moment to say how it ended.
        self._finish(grace=0.2 if message is None else 0.0)
        if kind is StudentCrash and self.exit_info.get("signal") == signal.SIGXCPU:
            kind = StudentTimeout
            message = (f"it used more than {math.ceil(self.timeout) + 1} s of CPU time: "
                       "an endless loop?")
        if message is None:
            message = "the process running your code ended: " + describe_exit(self.exit_info)
            tail = self.output.strip()[-300:]
            if tail:
                message += f"; its last output: {tail}"
        info = {"type": "Timeout" if kind is StudentTimeout else "Crash",
                "message": message, "where": ""}
        self._failure = (kind, info)
        raise kind(info)

    def _finish(self, grace=0.0):
        """Have the fork server kill the child and its leftovers; keep status and output."""
        if self.exit_info is not None or self._sid is None:
            return
        self.exit_info = self.sandbox._release(self._sid, self._generation, grace)
        self._sock.close()
        self.output = _read_output(self._output_fd)
        os.close(self._output_fd)

    def _pass_on(self, sources):
        """This subject's child for the next class, if it was kept and holds `sources`
        (then this subject no longer owns it); else None."""
        if (not self._kept or self._passed_on or self.exit_info is not None
                or sources != self.sources or self._generation != self.sandbox._generation):
            return None
        self._passed_on, self.exit_info = True, {"passed_on": True}
        return self._sid, self._generation, self._sock, self._output_fd

    def close(self):
        """This class's tests are over. With `keep`, a child that did nothing wrong stays
        alive for the next class (see `previous`): `finish` ends it."""
        if self._keep and self._failure is None and self._sid is not None:
            self._kept = True
        else:
            self._finish()
        self._closed()

    def finish(self):
        """Kill the child now, kept or not (nothing to do once it is gone or passed on)."""
        self._finish()
        self._closed()

    def _closed(self):
        if self._failure is None:
            self._failure = (StudentError, {"type": "Closed", "where": "",
                                            "message": "the subject was closed"})
