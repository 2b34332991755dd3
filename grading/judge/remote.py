"""Student code in a sandboxed process: `Sandbox` (one fork server) and its subjects
(grading.judge.child.RemoteSubject).

The judge keeps the test data, the expected values and the scores; the sandbox gets the
student's source texts and the request data, and sends back plain JSON (see
grading.sandbox.protocol). Every answer is checked against the shape its request allows
(grading.judge.answers) before anything uses it; anything else is "garbage" and ends that
subject only.

One `Sandbox` per judge process starts one fork server (grading.sandbox.zygote), inside
bubblewrap when bubblewrap runs here, and asks it for fresh children.

    with Sandbox(timeout=10) as sandbox:
        subject = sandbox.subject({"layers": text, "optimizer": text})
        ...
        subject.finish()       # then subject.output, subject.exit_info
"""
import os
import socket
import sys
import threading
import time
import weakref

from grading.judge.child import GARBAGE, RemoteSubject  # noqa: F401 (GARBAGE: for tests)
from grading.sandbox import protocol, server

CONTROL_TIMEOUT = 10.0     # a spawn or a close takes milliseconds; longer means it is stuck
CONTROL_MAX = 1 << 16
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

    def subject(self, sources, deadline=None, **sharing):
        """A subject holding `sources` in a fresh child (or, see `sharing`, the child of
        the class before: grading.judge.child); `deadline` (time.monotonic) ends the
        submission's budget, the class budget starts now."""
        return RemoteSubject(self, sources, deadline, **sharing)

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

    def _spawn(self, cpu_seconds):
        """A fresh child: (id, generation, socket to it, fd of its output file)."""
        spec = {"cpu_seconds": cpu_seconds,
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
