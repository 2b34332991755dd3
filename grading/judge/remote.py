"""Student code in a sandboxed process: `Sandbox` (one fork server) and `RemoteSubject`.

The judge keeps the test data, the expected values and the scores; the sandbox gets the
student's source texts and the request data, and sends back plain JSON (see
grading.sandbox.protocol). Every answer is checked against the shape its request allows
before anything uses it; anything else is "garbage" and ends that subject only.

One `Sandbox` per judge process starts one fork server (grading.sandbox.zygote), inside
bubblewrap when bubblewrap runs here, and asks it for a fresh child per subject.

    with Sandbox(timeout=10) as sandbox:
        subject = sandbox.subject({"layers": text, "optimizer": text})
        ...
        subject.close()        # then subject.output, subject.exit_info
"""
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import numpy as np

import grading
from grading.judge.subject import StudentCrash, StudentError, StudentTimeout, Subject
from grading.sandbox import protocol
from grading.sandbox.wire import ALLOWED_DTYPES

GRADING_DIR = Path(grading.__file__).resolve().parent
SANDBOX_DIR = GRADING_DIR / "sandbox"
START_TIMEOUT = 30.0       # the fork server imports numpy once
CONTROL_TIMEOUT = 10.0     # a spawn or a close takes milliseconds; longer means it is stuck
CONTROL_MAX = 1 << 16
TMP_BYTES = 256 << 20      # the sandbox's /tmp (a tmpfs in memory)
OUTPUT_SHOWN = 4096        # bytes of a subject's output kept for feedback
GARBAGE = "the submission's process sent garbage"
WARNING = "bubblewrap is not available here: submissions run with process limits only"
# bubblewrap variants, most isolated first: an unprivileged uid if user namespaces allow.
BWRAP_VARIANTS = (["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"], [])

_bwrap_flags = None        # per process: None = not tried, False = cannot run, else the
                           # list of flags that ran (maybe empty)
_bwrap_problem = ""        # why it cannot run
_warned = False


class SandboxStartError(RuntimeError):
    """The fork server did not come up."""


class _ZygoteGone(Exception):
    """The fork server did not answer (it died, or sent nonsense)."""


# --- starting the fork server ----------------------------------------------------------

def _numpy_dir():
    return os.path.dirname(os.path.dirname(np.__file__))


def _environment(pythonpath, tmp):
    """All the fork server sees of our environment: no secrets, one BLAS thread."""
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath, "PYTHONSAFEPATH": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _python_paths():
    """The directories Python and numpy live in, without duplicates or /usr."""
    paths = []
    for path in (sys.base_prefix, sys.prefix, sys.exec_prefix,
                 os.path.dirname(os.path.realpath(sys.executable)), _numpy_dir()):
        path = os.path.abspath(path)
        if any(path == p or path.startswith(p + "/") for p in paths + ["/usr"]):
            continue
        paths = [p for p in paths if not p.startswith(path + "/")] + [path]
    return paths


def bwrap_command(bwrap, flags):
    """bubblewrap around the fork server: read-only Python and numpy, the sandbox package
    and nothing else of ours; no network, no other processes, a private /tmp."""
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
           "--cap-drop", "ALL", *flags,
           "--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += ["--ro-bind", "/usr", "/usr", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    bound = _python_paths()
    for path in bound:
        cmd += ["--ro-bind", path, path]
    # If a bound tree holds the judge or the solutions (the grader installed into
    # site-packages, a checkout under /usr), an empty tmpfs covers them.
    for secret in (str(GRADING_DIR), str(GRADING_DIR.parent / "solutions")):
        if any(secret.startswith(p + "/") for p in bound + ["/usr"]):
            cmd += ["--tmpfs", secret]
    cmd += ["--ro-bind", str(SANDBOX_DIR), "/kata/grading/sandbox",
            "--ro-bind", os.devnull, "/kata/grading/__init__.py",   # an empty package stub
            "--chdir", "/tmp", "--", sys.executable, "-m", "grading.sandbox.zygote"]
    return cmd, _environment(f"/kata:{_numpy_dir()}", "/tmp")


def plain_command():
    """The fork server without bubblewrap: the same limits, the same file system as us."""
    return ([sys.executable, "-m", "grading.sandbox.zygote"],
            _environment(f"{GRADING_DIR.parent}:{_numpy_dir()}", tempfile.gettempdir()))


class _Server:
    """One running fork server: the process and our end of its control socket."""

    def __init__(self, command, env):
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.errors = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                command + [str(theirs.fileno())], pass_fds=[theirs.fileno()], env=env,
                cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self.errors, start_new_session=True)
        finally:
            theirs.close()
        self.control.settimeout(START_TIMEOUT)
        try:
            self.hello = protocol.unpack_datagram(self.control.recv(CONTROL_MAX))
        except (OSError, protocol.ProtocolError):
            self.hello = None
        if not isinstance(self.hello, dict) or self.hello.get("ready") is not True:
            self.errors.seek(0)
            text = self.errors.read().decode(errors="replace").strip()
            self.stop()
            raise SandboxStartError(text[-1000:] or "the fork server did not start")

    def stop(self):
        """EOF makes the server kill its children and exit; SIGKILL if it lingers.
        (Killing bwrap kills everything inside: --die-with-parent and the pid namespace.)"""
        self.control.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.errors.close()


def _start_bwrap():
    """The server inside bubblewrap, or None; the first try in a process decides
    for the rest of it (and which variant to use)."""
    global _bwrap_flags, _bwrap_problem
    bwrap, problems = shutil.which("bwrap"), []
    known = isinstance(_bwrap_flags, list)
    for flags in ([_bwrap_flags] if known else BWRAP_VARIANTS) if bwrap else []:
        try:
            server = _Server(*bwrap_command(bwrap, flags))
        except SandboxStartError as exc:
            problems.append(str(exc))
            continue
        _bwrap_flags = flags
        return server
    _bwrap_flags = False
    _bwrap_problem = " / ".join(problems) if bwrap else "bwrap is not installed"
    return None


def bwrap_problem():
    """Why bubblewrap cannot run here, once `bwrap_available()` has said it cannot."""
    return _bwrap_problem or "it did not start"


def bwrap_available():
    """Whether bubblewrap runs here (tried once per process, like `Sandbox` does)."""
    if _bwrap_flags is None:
        server = _start_bwrap()
        if server is not None:
            server.stop()
    return isinstance(_bwrap_flags, list)


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

    def __init__(self, timeout=10.0, memory_mb=1024, mode="auto", refuse_forks=True):
        self.timeout, self.memory_mb = float(timeout), int(memory_mb)
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

    def subject(self, sources):
        return RemoteSubject(self, sources)

    def close(self):
        with self._lock:
            _stop_all(self._servers)
            self._server = None

    def _start(self):
        global _warned
        started = time.monotonic()
        if self.mode != "off" and _bwrap_flags is not False:
            self._server = _start_bwrap()
        if self._server is None and self.mode == "bwrap":
            raise SandboxStartError(f"KATA_SANDBOX=bwrap, but bubblewrap cannot run here: "
                                    f"{_bwrap_problem}")
        self.isolation = "bubblewrap" if self._server else "process limits"
        if self._server is None:
            if self.mode == "auto" and not _warned:
                print(WARNING, file=sys.stderr)
                _warned = True
            self._server = _Server(*plain_command())
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


# --- answers: checked before anything uses them ----------------------------------------

def _bad(why="malformed answer"):
    raise protocol.ProtocolError(why)


def _text(value, limit):
    if not isinstance(value, str):
        _bad()
    # Lone surrogates ("\udc80") would break whoever writes the feedback as UTF-8.
    return value[:limit].encode("utf-8", "replace").decode("utf-8")


def _value(v):
    """One value as wire.encode makes it; strings shortened, arrays checked for size."""
    kind = v.get("kind") if isinstance(v, dict) else _bad()
    if kind == "none":
        return {"kind": "none"}
    if kind == "object":
        return {"kind": "object", "type": _text(v.get("type"), 100)}
    if kind == "scalar" and type(v.get("value")) in (int, float):
        try:
            return {"kind": "scalar", "value": float(v["value"])}
        except OverflowError:
            _bad()
    if kind == "array":
        dtype, shape, data = v.get("dtype"), v.get("shape"), v.get("data")
        if (isinstance(dtype, str) and dtype in ALLOWED_DTYPES and isinstance(data, bytes)
                and isinstance(shape, list) and len(shape) <= 32
                and all(type(n) is int and n >= 0 for n in shape)
                and math.prod(shape) * np.dtype(dtype).itemsize == len(data)):
            return {"kind": "array", "dtype": dtype, "shape": shape, "data": data}
    _bad()


def _values(v):
    return [_value(x) for x in v] if isinstance(v, list) else _bad()


def _listing(v):
    if isinstance(v, dict) and v.get("kind") == "list":
        return {"kind": "list", "items": _values(v.get("items"))}
    value = _value(v)
    return value if value["kind"] == "object" else _bad()


def _handle(v):
    return v if type(v) is int else _bad()


def _record(**parts):
    def check(v):
        if not isinstance(v, dict):
            _bad()
        return {key: part(v.get(key)) for key, part in parts.items()}
    return check


ANSWER_SHAPES = {
    "new": _handle, "hold": _handle, "subtract": _handle, "read": _listing, "held": _listing,
    "call": _record(result=_value, args_after=_values),
    "sgd_update": _record(params=_values, grads=_values, list_items=_values),
}
_error_info = _record(type=lambda t: _text(t, 100), message=lambda m: _text(m, 1000),
                      where=lambda w: _text(w, 300))


def checked_answer(op, answer):
    """{"ok": ...} or {"error": ...}, of the shape `op` allows; else ProtocolError."""
    if not isinstance(answer, dict) or len(answer) != 1:
        _bad()
    if "error" in answer:
        return {"error": _error_info(answer["error"])}
    if "ok" in answer:
        return {"ok": ANSWER_SHAPES[op](answer["ok"])}
    _bad()


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

    def __init__(self, sandbox, sources):
        self.sandbox, self.timeout = sandbox, sandbox.timeout
        self.output, self.exit_info = "", None
        self._failure = None     # (exception class, info) once the child is gone
        self._loaded = False
        self._sid, self._generation, self._sock, self._output_fd = sandbox._spawn()
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
        deadline = time.monotonic() + self.timeout
        try:
            protocol.send_frame(self._sock, frame, deadline)
            answer = checked_answer(op, protocol.recv(self._sock, deadline))
        except TimeoutError:
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
        if self.exit_info is not None:
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
