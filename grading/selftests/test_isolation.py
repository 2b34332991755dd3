"""Issue 7's findings at the sandbox's level: a fresh corner per child, memory for the
whole sandbox, budgets, a uid that owns nothing, no signals by file ownership, and the
refusal where no sandbox is possible. (The batch-level proof is grading/proofs/trust.py.)
"""
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from grading import cli
from grading.judge.remote import Sandbox
from grading.judge.subject import StudentCrash, StudentError, StudentTimeout
from grading.samples import TRUST, write_hostile
from grading.sandbox import isolate, server
from grading.selftests.support import descendants, forward_source


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(timeout=3) as the_sandbox:
        yield the_sandbox


def forward_value(sandbox, body, prelude=""):
    subject = sandbox.subject(forward_source(body, prelude))
    try:
        return subject.new("MatMul", np.eye(2)).forward(np.eye(2))
    finally:
        subject.close()


PLANT = """
for path in ('/tmp/kata-x', '/dev/shm/kata-x', '/kata-x', '/dev/kata-x', os.getcwd() + '/kata-y'):
    try:
        open(path, 'w').write('planted')
    except OSError:
        pass
libc = ctypes.CDLL(None)
libc.shmget(0x6b617878, 4096, 0o1000 | 0o666)
return x
"""
LOOK = """
found = [p for p in ('/tmp/kata-x', '/dev/shm/kata-x', '/kata-x', '/dev/kata-x', os.getcwd() + '/kata-y')
         if os.path.exists(p)]
found += ['shm'] if ctypes.CDLL(None).shmget(0x6b617878, 0, 0) >= 0 else []
return np.array([[float(len(found))]])
"""


def test_a_child_never_sees_what_an_earlier_one_wrote(sandbox):
    forward_value(sandbox, PLANT, prelude="import ctypes, os")
    assert forward_value(sandbox, LOOK, prelude="import ctypes, os")[0, 0] == 0


def test_only_fresh_tmpfs_is_writable(sandbox):
    body = ("ok = []\nfor d in ('/', '/dev', '/kata', '/usr', '/tmp', '/dev/shm'):\n"
            "    try:\n        open(d + '/kata-w', 'w').close()\n        ok.append(d)\n"
            "    except OSError:\n        pass\nraise RuntimeError(repr(ok))")
    with pytest.raises(StudentError, match=r"\['/tmp', '/dev/shm'\]"):
        forward_value(sandbox, body)


@pytest.mark.parametrize("call", ["fcntl.fcntl(r, fcntl.F_SETOWN, os.getppid())",
                                  "fcntl.fcntl(r, 10, 9)",        # F_SETSIG
                                  "fcntl.ioctl(r, 0x8901, struct.pack('i', os.getppid()))"])
@pytest.mark.needs("seccomp")
def test_signals_by_file_ownership_are_refused(sandbox, call):
    with pytest.raises(StudentError, match="PermissionError"):
        forward_value(sandbox, f"r, w = os.pipe()\n{call}\nreturn x",
                      prelude="import fcntl, os, struct")


@pytest.mark.needs("root")
def test_the_child_runs_as_a_uid_that_owns_nothing(sandbox):
    subject = sandbox.subject(forward_source("return x"))
    subject.new("MatMul", np.eye(2))
    uids = {}
    for pid in descendants(sandbox):
        status = Path(f"/proc/{pid}/status").read_text()
        uids[pid] = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    subject.close()
    assert ["65534"] * 4 in uids.values(), uids          # real, effective, saved, fs


@pytest.mark.needs("cgroup")
def test_memory_outside_rlimit_is_bounded_by_the_cgroup():
    with tempfile.TemporaryDirectory() as folder:
        hog = write_hostile("hog", folder, path=TRUST)
        sources = {"optimizer": (hog / "optimizer.py").read_text()}
    with Sandbox(timeout=30) as sandbox:
        subject = sandbox.subject(sources)     # tmpfs, SysV bounded; then memfd pages
        with pytest.raises(StudentCrash, match=r"SIGKILL \(out of memory\?\)"):
            subject.new("SGD")
        subject.close()
        assert sandbox._server.group.memory_peak() <= sandbox.memory_bytes


def test_class_and_submission_budgets():
    with Sandbox(timeout=1, class_budget=1.5) as sandbox:
        started = time.monotonic()
        subject = sandbox.subject(forward_source("time.sleep(0.6)\nreturn x", "import time"))
        layer = subject.new("MatMul", np.eye(2))
        layer.forward(np.eye(2))
        layer.forward(np.eye(2))
        with pytest.raises(StudentTimeout, match="time budget"):
            layer.forward(np.eye(2))
        assert time.monotonic() - started < 2.5
        late = sandbox.subject(forward_source("return x"), deadline=time.monotonic() - 1)
        with pytest.raises(StudentTimeout, match="submission used up its time budget"):
            late.new("MatMul", np.eye(2))
        late.close()
        subject.close()


def test_refused_without_bubblewrap_and_root(monkeypatch, capsys):
    monkeypatch.setattr(server, "_bwrap_state", (False, "bwrap is not installed"))
    monkeypatch.setattr(server.os, "geteuid", lambda: 1000)
    monkeypatch.delenv("KATA_ALLOW_UNSANDBOXED", raising=False)
    monkeypatch.setenv("KATA_SANDBOX", "auto")
    assert "refusing to grade" in server.unsandboxed_problem()
    with pytest.raises(server.Refused):
        server.start("off", 64 << 20)
    with tempfile.TemporaryDirectory() as sub, tempfile.TemporaryDirectory() as out:
        assert cli.main(["grade", sub, "--out", out + "/o"]) == cli.USAGE_ERROR
    assert "refusing to grade" in capsys.readouterr().err
    monkeypatch.setenv("KATA_ALLOW_UNSANDBOXED", "1")
    assert server.unsandboxed_problem() is None


@pytest.mark.needs("root")
def test_a_fresh_tmp_keeps_the_folders_python_imports_from():
    """A checkout or venv under /tmp (or a hidden /home) must stay importable in the child:
    the fresh tmpfs binds those folders back, read-only, and hides everything else."""
    with tempfile.TemporaryDirectory(dir="/tmp") as kept, tempfile.TemporaryDirectory(dir="/tmp") as other:
        Path(kept, "probe.py").write_text("X = 1\n")
        Path(other, "secret.txt").write_text("another submission")
        pid = os.fork()
        if pid == 0:                                  # the child: its own mount namespace
            code = 3
            try:
                isolate._check(isolate._libc.unshare(isolate.CLONE_NEWNS), "unshare")
                isolate._mount(None, "/", None, isolate.MS_REC | isolate.MS_PRIVATE)
                isolate._fresh_tmpfs("/tmp", 1 << 20, keep=[kept])
                code = 0 if Path(kept, "probe.py").read_text() == "X = 1\n" else 1
                code = code or (2 if Path(other).exists() else 0)
                try:
                    Path(kept, "planted.py").write_text("X = 2\n")
                    code = code or 4                   # the kept folder must be read-only
                except OSError:
                    pass
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, {
            1: "the kept folder is gone", 2: "the rest of /tmp is still visible",
            3: "the child crashed", 4: "the kept folder is writable"}.get(os.waitstatus_to_exitcode(status))
