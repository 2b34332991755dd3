"""Starting and stopping the fork server (judge side): bubblewrap or not, in its cgroup.

`start(mode, memory_bytes)` returns a running `Server`, or raises `SandboxStartError` or
`Refused`. Modes, most isolated first:

- bubblewrap: the read-only least-privilege view of grading.sandbox.view;
- fallback (no bubblewrap) as root: the same per-child namespaces and privilege drop
  (grading.sandbox.isolate), each child building bubblewrap's read-only view for itself;
- fallback without root: a child could not drop its uid, so it would run as the grading
  user with all of that user's files in reach: refused unless explicitly allowed
  (`python -m grading grade --allow-unsandboxed`, or KATA_ALLOW_UNSANDBOXED=1).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

from grading.sandbox import cgroup, protocol, view

START_TIMEOUT = 30.0       # the fork server imports numpy once
CONTROL_MAX = 1 << 16
TMP_BYTES = 64 << 20       # each child's /tmp (a tmpfs, charged to the sandbox's memory)
SHM_BYTES = 16 << 20       # each child's /dev/shm
SERVER_BYTES = 256 << 20   # the fork server and bubblewrap, on top of a child's memory
TASKS = 64                 # pids.max of a sandbox: server, child and its threads
WARNING = "bubblewrap is not available here: submissions run with process limits only"
REFUSAL = ("refusing to grade: bubblewrap cannot run here ({why}), and without it the "
           "submission's code could only be kept from your files by dropping to another "
           "uid, which needs root. It would run as you, able to read and change everything "
           "you can. Install bubblewrap (apt-get install bubblewrap), run as root, or pass "
           "--allow-unsandboxed (KATA_ALLOW_UNSANDBOXED=1) if you trust every submission.")

_bwrap_state = None        # per process: None = not tried, else (works, why-not)


class SandboxStartError(RuntimeError):
    """The fork server did not come up."""


class Refused(SandboxStartError):
    """Grading without a sandbox worth the name, and nobody allowed it."""


def _environment(pythonpath, tmp):
    """All the fork server sees of our environment: no secrets, one BLAS thread."""
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath, "PYTHONSAFEPATH": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Server:
    """One running fork server: the process, our end of its control socket, its cgroup."""

    def __init__(self, command, env, memory_bytes, pass_fds=(), kind="bubblewrap"):
        self.kind = kind
        cgroup.sweep()       # groups of grading processes that were killed
        try:
            self.group = cgroup.Group(memory_bytes, TASKS)
        except OSError as exc:   # worked when probed, not now: grade, and say so
            print(f"warning: no cgroup for this sandbox ({exc}): per-process memory limits "
                  "only", file=sys.stderr)
            self.group = cgroup.Group(memory_bytes, TASKS, _mode="none")
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.errors = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                command + [str(theirs.fileno())], pass_fds=[theirs.fileno(), *pass_fds],
                env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self.errors, start_new_session=True,
                # In the group before it runs a line: nothing escapes the accounting.
                preexec_fn=self.group.join_self if self.group.dirs else None)
        except BaseException:
            theirs.close()
            self.group.remove()
            raise
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
        """EOF makes the server kill its children and exit; SIGKILL if it lingers; then
        whatever is left in the cgroup is killed and the group removed."""
        self.control.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.group.remove()
        self.errors.close()


def _bwrap_server(bwrap, memory_bytes):
    userns = view.nobody_userns() if os.geteuid() == 0 else None
    try:
        cmd, pythonpath = view.bwrap_command(bwrap, TMP_BYTES, userns)
        return Server(cmd, _environment(pythonpath, "/tmp"), memory_bytes,
                      pass_fds=[userns] if userns is not None else [])
    finally:
        if userns is not None:
            os.close(userns)


def _plain_server(memory_bytes):
    pythonpath = f"{view.GRADING_DIR.parent}:{os.path.dirname(view.numpy_dirs()[0])}"
    return Server([sys.executable, "-m", "grading.sandbox.zygote"],
                  _environment(pythonpath, tempfile.gettempdir()), memory_bytes,
                  kind="process limits")


def _short(exc):
    text = str(exc).strip()
    return text.splitlines()[-1][:300] if text else type(exc).__name__


def _try_bwrap(memory_bytes):
    """A server inside bubblewrap, or None; the first try in a process decides."""
    global _bwrap_state
    if _bwrap_state is not None and not _bwrap_state[0]:
        return None
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        _bwrap_state = (False, "bwrap is not installed")
        return None
    try:
        server = _bwrap_server(bwrap, memory_bytes)
    except (SandboxStartError, OSError) as exc:
        if _bwrap_state is not None:
            raise                                # it ran before: a real failure
        _bwrap_state = (False, _short(exc))
        return None
    _bwrap_state = (True, "")
    return server


def bwrap_available():
    """Whether bubblewrap runs here (tried once per process)."""
    if _bwrap_state is None:
        server = _try_bwrap(SERVER_BYTES)
        if server is not None:
            server.stop()
    return _bwrap_state[0]


def bwrap_problem():
    return (_bwrap_state or (False, ""))[1] or "it did not start"


def allowed_unsandboxed():
    return os.environ.get("KATA_ALLOW_UNSANDBOXED", "") == "1"


def unsandboxed_problem(mode="auto"):
    """None where a child can be isolated (bubblewrap, or root) or the user allowed it;
    else the refusal text."""
    if (mode != "off" and bwrap_available()) or os.geteuid() == 0 or allowed_unsandboxed():
        return None
    return REFUSAL.format(why=bwrap_problem() if mode != "off" else "KATA_SANDBOX=off")


def start(mode, memory_bytes):
    """A running Server for `mode` ("bwrap", "off" or "auto")."""
    server = _try_bwrap(memory_bytes) if mode != "off" else None
    if server is not None:
        return server
    if mode == "bwrap":
        raise SandboxStartError(f"KATA_SANDBOX=bwrap, but bubblewrap cannot run here: "
                                f"{bwrap_problem()}")
    if os.geteuid() != 0 and not allowed_unsandboxed():
        why = bwrap_problem() if mode != "off" else "KATA_SANDBOX=off"
        raise Refused(REFUSAL.format(why=why))
    return _plain_server(memory_bytes)


def isolation_spec(kind):
    """What each child does to itself before student code (see grading.sandbox.isolate)."""
    plain = kind != "bubblewrap"
    # No bubblewrap: each child builds bubblewrap's view itself (grading.sandbox.isolate).
    return {"tmp_bytes": TMP_BYTES, "shm_bytes": SHM_BYTES, "network": plain,
            "view": view.view_args() if plain else [],
            # Only where the user allowed an unsandboxed run may a child go on without.
            "required": not allowed_unsandboxed()}


def describe(kind, memory_bytes, why_plain=None):
    """The run's header: which isolation and which memory accounting are in force."""
    why_plain = why_plain or bwrap_problem()
    root = os.geteuid() == 0
    uid = ("uid 65534 (nobody, owns nothing outside), no capabilities" if root else
           "your uid mapped in a user namespace (not root: no uid that owns nothing)")
    if kind == "bubblewrap":
        head = "bubblewrap, read-only view of the Python runtime and numpy only"
    elif root or allowed_unsandboxed():
        head = (f"no bubblewrap ({why_plain}): the same read-only view of the Python runtime "
                "and numpy only, built by each child")
        if not root:
            head = f"UNSANDBOXED (--allow-unsandboxed; {why_plain})"
    else:
        head = "refused"
    mode = cgroup.mode()
    memory = (f"cgroup {mode}: {memory_bytes >> 20} MiB and {TASKS} tasks per sandbox"
              if mode != "none" else
              f"no cgroup ({cgroup.why_none()}): per-process limits and bounded tmpfs only")
    return (f"sandbox: {head}; {uid}; a fresh mount+IPC namespace per submission file (/tmp "
            f"{TMP_BYTES >> 20} MiB, /dev/shm {SHM_BYTES >> 20} MiB, SysV {SHM_BYTES >> 20} MiB); "
            f"seccomp; memory: {memory}")
