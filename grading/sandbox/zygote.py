"""The fork server: one long-lived process that forks a fresh child per subject.

Starting Python and importing numpy costs ~0.15 s; forking a process that has already
done so costs about a millisecond. So the judge starts this once (inside bubblewrap when
it can) and asks it, over a control socket, for one child per subject:

  judge -> zygote   {"op": "spawn", "limits": {...}}
  zygote -> judge   {"id": n, "pid": p} + two fds (SCM_RIGHTS): the judge's end of a
                    socket to the child, and the file that holds the child's output
  judge -> zygote   {"op": "close", "id": n, "grace": seconds to end by itself}
  zygote -> judge   {"status": {"code": c} or {"signal": s, "by_us": bool}}

The judge then talks to the child directly (see `child_main`), with its own timeouts, so
a child that hangs, dies or sends garbage never desynchronizes the control channel. The
zygote never sees the student's sources or output: a later child could find them in its
copy of the zygote's memory.

The seccomp filter that keeps a child from creating processes (see limits) is installed
in the child, after the fork: the zygote itself can still fork. Where that filter is not
supported, the zygote, a child subreaper, cleans up instead: whatever a child leaves
behind (double fork, setsid) becomes the zygote's child, and "close" kills the child and
all such leftovers.

    python -m grading.sandbox.zygote CONTROL_FD
"""
import gc
import io
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time

import numpy  # noqa: F401  (loaded once here, so every child starts with it)

from grading.sandbox import isolate, limits, protocol, runner

PROTO_FD = 100             # the child's socket to the judge: far from 0, 1, 2
OPEN_FILES = 128           # RLIMIT_NOFILE in the child (must stay above PROTO_FD)
PRINT_BUDGET = 64 << 10    # bytes print() may add to the output file; the rest is dropped
FILE_BYTES = 8 << 20       # RLIMIT_FSIZE: the output file and any file the student writes
SPARE_PROCESSES = 16       # RLIMIT_NPROC headroom above what the uid already runs
CONTROL_MAX = 1 << 16


# --- the child: one subject ------------------------------------------------------------

class CappedOutput(io.TextIOBase):
    """sys.stdout/stderr in the child: writes the first PRINT_BUDGET bytes, drops the rest.

    A print() flood then neither fails the student's code nor fills anything up.
    """
    room = PRINT_BUDGET          # shared by stdout and stderr
    encoding, errors = "utf-8", "replace"

    def __init__(self, fd):
        self.fd = fd

    def writable(self):
        return True

    def fileno(self):
        return self.fd

    def write(self, text):
        data = str(text).encode("utf-8", "replace")[:CappedOutput.room]
        CappedOutput.room -= len(data)
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:          # EFBIG: raw writes already used up RLIMIT_FSIZE
            CappedOutput.room = 0
        return len(text)


def _setup_child(sock, output, workdir, spec):
    """Everything that must hold before the first line of student code runs."""
    os.setsid()                               # no terminal, own process group
    limits.die_with_parent()                  # the zygote gone -> this child gone
    try:
        # The memory cgroup's OOM killer must pick this child, never the fork server.
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    fresh = spec.get("isolate")
    if fresh:
        try:
            isolate.isolate(fresh["tmp_bytes"], fresh["shm_bytes"], fresh.get("network", False),
                            fresh.get("view", ()))
            workdir = "/tmp"                  # its own tmpfs, gone with it
        except (OSError, ValueError) as exc:
            if fresh.get("required", True):
                raise isolate.IsolationError(1, str(exc)) from None
        limits.die_with_parent()              # a change of uid cleared it
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.dup2(sock.detach(), PROTO_FD)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    # Drops the zygote's control socket and anything else inherited.
    os.closerange(3, PROTO_FD)
    os.closerange(PROTO_FD + 1, 1 << 16)
    os.chdir(workdir)
    os.environ.update(HOME=workdir, TMPDIR=workdir)
    tempfile.tempdir = workdir
    limits.apply_rlimits(cpu_seconds=spec["cpu_seconds"], memory_bytes=spec["memory_bytes"],
                         file_bytes=FILE_BYTES, open_files=OPEN_FILES,
                         processes=spec["processes"])
    if limits.seccomp_supported():
        limits.install_seccomp(refuse_forks=spec.get("refuse_forks", True))
    sys.stdout = sys.__stdout__ = CappedOutput(1)
    sys.stderr = sys.__stderr__ = CappedOutput(2)
    # Where forks are not refused (no seccomp filter here): a process the student forks
    # must not hold the judge's socket open, or the judge would see no EOF when this
    # child dies, and wait for its timeout instead.
    os.register_at_fork(after_in_child=_drop_judge_socket)
    return socket.socket(fileno=PROTO_FD)


def _drop_judge_socket():
    try:
        os.close(PROTO_FD)
    except OSError:
        pass


def child_main(sock, output, workdir, spec):
    """Load the sources the judge sends first, then answer requests until EOF."""
    sock = _setup_child(sock, output, workdir, spec)
    first = protocol.recv(sock)
    the_runner = runner.Runner(first["sources"])
    while True:
        try:
            message = protocol.recv(sock)
        except EOFError:
            return
        # A batch (see grading.judge.child.RemoteSubject.requests) is answered step by
        # step, each answer sent as soon as it is ready.
        steps = message["fields"]["steps"] if message["op"] == "batch" else [message]
        for answer in runner.answers(the_runner, steps):
            try:
                frame = protocol.pack(answer)
            except (protocol.ProtocolError, TypeError, ValueError) as exc:
                answer = {"error": {"type": "AnswerTooLarge", "where": "",
                                    "message": f"the answer cannot be sent: {exc}"}}
                frame = protocol.pack(answer)
            sock.sendall(frame)
            if "error" in answer:
                break                  # the judge reads no further answer of this batch


# --- the zygote ------------------------------------------------------------------------

def _process_table():
    """{pid: (ppid, state)} for every process we can see in /proc."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue                      # gone meanwhile
            table[int(name)] = (int(fields[1]), fields[0])
    return table


def _kill(pid, parent):
    """SIGKILL `pid` if it is still the child of `parent`; returns a pidfd to wait on,
    or None. (The pidfd pins the process: a recycled pid is never hit.)"""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if int(f.read().rsplit(b")", 1)[1].split()[1]) == parent:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                return fd
    except (OSError, IndexError, ValueError):
        pass
    os.close(fd)
    return None


def _wait_dead(pidfds, seconds=5.0):
    """Wait until every process behind `pidfds` has ended (a pidfd turns readable then),
    at most `seconds`; True if they all did."""
    poller = select.poll()
    for fd in pidfds:
        poller.register(fd, select.POLLIN)
    pending, deadline = set(pidfds), time.monotonic() + seconds
    while pending:
        left = deadline - time.monotonic()
        ready = poller.poll(max(0, int(left * 1000)))
        for fd, _ in ready:
            poller.unregister(fd)
            pending.discard(fd)
        if not ready and left <= 0:
            break
    return not pending


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


class Zygote:
    def __init__(self, control):
        self.control = control
        self.children = {}       # subject id -> pid
        self.workdirs = {}       # subject id -> its private directory
        self.statuses = {}       # pid -> wait status, once reaped
        self.pidfds = {}         # subject id -> pidfd of its child
        self.next_id = 1
        self.base = tempfile.mkdtemp(prefix="kata-sandbox-")

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children.values():
                self.statuses[pid] = status

    def kill_leftovers(self):
        """Kill every descendant that is not a live subject's child or below one: what
        closed children left behind (double fork, setsid) ends up with us, the subreaper.
        Repeats until a scan finds nothing, so processes forked meanwhile go too; only
        our own descendants are ever touched."""
        me, live = os.getpid(), set(self.children.values())
        for _ in range(100):
            self.reap()
            kids = {}
            for pid, (ppid, state) in _process_table().items():
                if state != b"Z":
                    kids.setdefault(ppid, []).append(pid)
            doomed = [(pid, me) for pid in kids.get(me, []) if pid not in live]
            if not doomed:
                return
            pidfds = []
            while doomed:
                pid, parent = doomed.pop()
                doomed += [(kid, pid) for kid in kids.get(pid, [])]
                fd = _kill(pid, parent)
                if fd is not None:
                    pidfds.append(fd)
            _wait_dead(pidfds)
            for fd in pidfds:
                os.close(fd)

    def spawn(self, spec):
        sid, self.next_id = self.next_id, self.next_id + 1
        workdir = tempfile.mkdtemp(prefix=f"{sid}-", dir=self.base)
        judge_end, child_end = socket.socketpair()
        output = os.memfd_create("kata-output")
        spec = dict(spec, processes=limits.count_own_processes() + SPARE_PROCESSES)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                # Forget (without closing) the zygote's sockets; closerange closes the fds.
                self.control.detach()
                judge_end.detach()
                child_main(child_end, output, workdir, spec)
            except isolate.IsolationError as exc:
                code = protocol.ISOLATION_EXIT
                try:
                    os.write(output, f"sandbox set-up failed: {exc}".encode()[:500])
                except OSError:
                    pass
            except BaseException:
                code = protocol.BROKEN_EXIT
            os._exit(code)
        self.children[sid], self.workdirs[sid] = pid, workdir
        self.pidfds[sid] = os.pidfd_open(pid)
        try:
            socket.send_fds(self.control, [protocol.pack({"id": sid, "pid": pid})],
                            [judge_end.fileno(), output])
        finally:
            judge_end.close()
            child_end.close()
            os.close(output)

    def close(self, sid, grace=0.0):
        """Kill a subject's child (after `grace` seconds to end by itself) and whatever
        it left behind; answers its exit status."""
        pid = self.children.get(sid)
        if pid is None:
            return {"status": {"missing": True}}
        pidfd = self.pidfds.pop(sid)
        killed = not _wait_dead([pidfd], grace)
        if killed:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            _wait_dead([pidfd])
        os.close(pidfd)
        if pid not in self.statuses:
            self.statuses[pid] = os.waitpid(pid, 0)[1]
        status = self.statuses.pop(pid)
        del self.children[sid]
        self.kill_leftovers()
        # The student may write anywhere we may: clear all but live subjects' directories.
        _remove(self.workdirs.pop(sid))
        for name in os.listdir(self.base):
            path = os.path.join(self.base, name)
            if path not in self.workdirs.values():
                _remove(path)
        if os.WIFSIGNALED(status):
            return {"status": {"signal": os.WTERMSIG(status), "by_us": killed}}
        return {"status": {"code": os.waitstatus_to_exitcode(status)}}

    def serve(self):
        self.control.sendall(protocol.pack({"ready": True, "pid": os.getpid(),
                                            "uid": os.getuid(),
                                            "seccomp": limits.seccomp_supported()}))
        gc.freeze()   # keeps the children's copies of our pages shared
        while True:
            message = self.control.recv(CONTROL_MAX)
            if not message:
                break
            request = protocol.unpack_datagram(message)
            self.reap()
            if request["op"] == "spawn":
                self.spawn(request["limits"])
            elif request["op"] == "close":
                answer = self.close(request["id"], request.get("grace", 0.0))
                self.control.sendall(protocol.pack(answer))

    def shutdown(self):
        self.children.clear()
        self.kill_leftovers()
        shutil.rmtree(self.base, ignore_errors=True)


def main():
    control = socket.socket(fileno=int(sys.argv[1]))
    limits.become_subreaper()
    limits.make_undumpable()
    limits.die_with_parent()
    zygote = Zygote(control)
    try:
        zygote.serve()
    finally:
        zygote.shutdown()


if __name__ == "__main__":
    main()
