"""Student code in a sandboxed process: `Sandbox` (one fork server) and `RemoteSubject`.

The judge keeps the test data, the expected values and the scores; the sandbox gets the
student's source texts and the request data, and sends back plain JSON (see
grading.sandbox.protocol). Every answer is checked against the shape its request allows
(grading.judge.answers) before anything uses it; anything else is "garbage" and ends that
subject only.

One `Sandbox` per judge process starts one fork server (grading.sandbox.zygote), inside
bubblewrap when bubblewrap runs here, and asks it for a fresh child per subject.

    with Sandbox(timeout=10) as sandbox:
        subject = sandbox.subject({"layers": text, "optimizer": text})
        ...
        subject.close()        # then subject.output, subject.exit_info
"""
import math
import os
import signal
import socket
import sys
import threading
import time
import weakref

from grading.judge.answers import checked_answer
from grading.judge.subject import StudentCrash, StudentError, StudentTimeout, Subject
from grading.sandbox import protocol, server

CONTROL_TIMEOUT = 10.0     # a spawn or a close takes milliseconds; longer means it is stuck
CONTROL_MAX = 1 << 16
OUTPUT_SHOWN = 4096        # bytes of a subject's output kept for feedback
GARBAGE = "the submission's process sent garbage"
CLASS_BUDGET = 30.0        # default wall-clock seconds for all of one class's tests
SUBMISSION_BUDGET = 60.0   # default wall-clock seconds for a whole submission
WARNING = server.WARNING
SandboxStartError = server.SandboxStartError
Refused = server.Refused
bwrap_available, bwrap_problem = server.bwrap_available, server.bwrap_problem
unsandboxed_problem = server.unsandboxed_problem
_warned = False


def header(mode="auto", memory_mb=1024):
    """The run's header line for `mode`: isolation, uid and memory accounting."""
    kind = "bubblewrap" if mode != "off" and bwrap_available() else "process limits"
    return server.describe(kind, (memory_mb << 20) + server.SERVER_BYTES,
                           "KATA_SANDBOX=off" if mode == "off" else None)


class _ZygoteGone(Exception):
    """The fork server did not answer (it died, or sent nonsense)."""


# --- the sandbox ---------------------------------------------------------------------

def _wanted_mode(mode):
    """KATA_SANDBOX=off|bwrap|auto decides unless the caller forces off or bwrap."""
    if mode in (None, "auto"):
        mode = os.environ.get("KATA_SANDBOX", "auto") or "auto"
    if mode not in ("off", "bwrap", "auto"):
        raise ValueError(f"sandbox mode must be off, bwrap or auto, not {mode!r}")
    return mode


class Sandbox:
    """One fork server for this judge process; `.subject(sources)` for each subject."""

    def __init__(self, timeout=10.0, memory_mb=1024, mode="auto", refuse_forks=True,
                 class_budget=CLASS_BUDGET, submission_budget=SUBMISSION_BUDGET):
        self.timeout, self.memory_mb = float(timeout), int(memory_mb)
        self.class_budget, self.submission_budget = float(class_budget), float(submission_budget)
        # False only in tests: children may fork, as where seccomp is not supported, so
        # that the clean-up of what they leave behind can be tested.
        self.refuse_forks = bool(refuse_forks)
        self.mode = _wanted_mode(mode)
        self.isolation = None            # "bubblewrap" or "process limits"
        self._lock = threading.RLock()
        self._server = None
        self._generation = 0             # bumped whenever a server is lost
        self._servers = []               # for the finalizer: what may still need stopping
        self._pid = os.getpid()
        weakref.finalize(self, _stop_all, self._servers)
        self._start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def subject(self, sources, deadline=None):
        """A fresh child holding `sources`; `deadline` (time.monotonic) ends the
        submission's budget, the class budget starts now."""
        return RemoteSubject(self, sources, deadline)

    @property
    def memory_bytes(self):
        """The whole sandbox's memory limit: a child's, plus the server's own."""
        return (self.memory_mb << 20) + server.SERVER_BYTES

    def describe(self):
        """The header line: the isolation and memory accounting in force."""
        return server.describe(self._server.kind if self._server else self.isolation,
                               self.memory_bytes)

    def close(self):
        with self._lock:
            _stop_all(self._servers)
            self._server = None

    def _start(self):
        global _warned
        started = time.monotonic()
        self._server = server.start(self.mode, self.memory_bytes)
        self.isolation = self._server.kind
        if self.isolation != "bubblewrap" and self.mode == "auto" and not _warned:
            print(f"{WARNING} ({bwrap_problem()})", file=sys.stderr)
            _warned = True
        self._servers.append(self._server)
        self.startup_seconds = time.monotonic() - started

    def _lose_server(self):
        """The server is dead or confused: stop it; the next spawn starts a new one."""
        if self._server is not None:
            self._server.stop()
            self._servers.remove(self._server)
            self._server = None
            self._generation += 1

    def _ask(self, message):
        """One exchange with the fork server: (reply, received fds), or _ZygoteGone."""
        control = self._server.control
        try:
            control.settimeout(CONTROL_TIMEOUT)
            control.sendall(protocol.pack(message))
            data, fds, flags, _ = socket.recv_fds(control, CONTROL_MAX, 2)
        except OSError:
            data, fds, flags = b"", [], 0
        try:
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise protocol.ProtocolError("truncated")
            reply = protocol.unpack_datagram(data)
            if not isinstance(reply, dict):
                raise protocol.ProtocolError("not a dict")
            return reply, fds
        except protocol.ProtocolError:
            for fd in fds:
                os.close(fd)
            self._lose_server()
            raise _ZygoteGone from None

    def _spawn(self):
        """A fresh child: (id, generation, socket to it, fd of its output file)."""
        spec = {"cpu_seconds": math.ceil(self.timeout) + 1,
                "memory_bytes": self.memory_mb << 20, "refuse_forks": self.refuse_forks}
        with self._lock:
            if self._pid != os.getpid():     # we were forked: that server is the parent's
                self._servers.clear()
                self._server, self._pid = None, os.getpid()
            for _ in range(2):           # a dead server is replaced once, transparently
                if self._server is None:
                    self._start()
                try:
                    spec["isolate"] = server.isolation_spec(self.isolation)   # per server kind
                    reply, fds = self._ask({"op": "spawn", "limits": spec})
                except _ZygoteGone:
                    continue
                if type(reply.get("id")) is int and len(fds) == 2:
                    try:
                        child = socket.socket(fileno=fds[0])
                        return reply["id"], self._generation, child, fds[1]
                    except OSError:
                        pass
                for fd in fds:
                    os.close(fd)
                self._lose_server()
            raise SandboxStartError("the sandbox's fork server failed twice in a row")

    def _release(self, sid, generation, grace=0.0):
        """Kill a child (after `grace` seconds to end by itself) and all it left behind;
        its exit status as a dict."""
        with self._lock:
            if generation != self._generation or self._server is None:
                return {"lost": "the sandbox around it was stopped"}
            try:
                reply, fds = self._ask({"op": "close", "id": sid, "grace": grace})
            except _ZygoteGone:
                return {"lost": "the sandbox around it was stopped"}
            for fd in fds:
                os.close(fd)
            status = reply.get("status")
            return status if isinstance(status, dict) else {}


def _stop_all(servers):
    while servers:
        servers.pop().stop()


# --- the subject -----------------------------------------------------------------------

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
    """The student's classes, alive in a sandboxed child; see grading.judge.subject."""

    def __init__(self, sandbox, sources, deadline=None):
        self.sandbox, self.timeout = sandbox, sandbox.timeout
        self.output, self.exit_info = "", None
        self._failure = None     # (exception class, info) once the child is gone
        self._loaded = False
        if deadline is not None and time.monotonic() >= deadline:
            self._sid = None     # never started: nothing to run it in
            self.exit_info = {}
            self._failure = (StudentTimeout, self._budget_info("submission"))
            return
        self._sid, self._generation, self._sock, self._output_fd = sandbox._spawn()
        # Wall-clock budgets: this class's (from its child's start, so that a fork server
        # started again in between is not counted), and the submission's.
        self._budgets = [(time.monotonic() + sandbox.class_budget, "class")]
        if deadline is not None:
            self._budgets.append((deadline, "submission"))
        try:
            protocol.send(self._sock, {"sources": sources}, time.monotonic() + self.timeout)
        except OSError:
            pass                 # the child is gone already: the first request says how
        except protocol.ProtocolError:
            self._failure = (StudentError, {"type": "TooLarge", "where": "",
                                            "message": "the submitted files are too large"})

    def request(self, op, **fields):
        if self._failure:
            raise self._failure[0](self._failure[1])     # fail fast, never wait again
        frame = protocol.pack({"op": op, "fields": fields})
        call_end = time.monotonic() + self.timeout
        budget_end, budget = min(self._budgets)
        try:
            protocol.send_frame(self._sock, frame, min(call_end, budget_end))
            answer = checked_answer(op, protocol.recv(self._sock, min(call_end, budget_end)))
        except TimeoutError:
            if budget_end < call_end:
                self._fail(StudentTimeout, self._budget_info(budget)["message"])
            doing = _doing(op, fields) if self._loaded else "loading your files"
            self._fail(StudentTimeout, f"{doing} did not finish within {self.timeout:g} s: "
                                       "an endless loop?")
        except (EOFError, OSError):
            self._fail(StudentCrash, None)
        except protocol.ProtocolError:
            self._fail(StudentCrash, GARBAGE)
        self._loaded = True
        if "error" in answer:
            raise StudentError(answer["error"])
        return answer["ok"]

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

    def close(self):
        self._finish()
        if self._failure is None:
            self._failure = (StudentError, {"type": "Closed", "where": "",
                                            "message": "the subject was closed"})
