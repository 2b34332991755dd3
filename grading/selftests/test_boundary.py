"""The sandbox's boundary: the protocol between judge and child (frames, answers checked
before use), and what the child cannot reach (files, judge modules, network, a writable Python),
with bubblewrap and in the fallback alike.
"""
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from grading.judge.answers import checked_answer
from grading.judge.remote import GARBAGE
from grading.judge.subject import StudentCrash, StudentError
from grading.sandbox import protocol
from grading.selftests.support import REPO, forward_source, works


# --- the protocol ---------------------------------------------------------------

def test_tampering_with_the_socket_is_a_crash(sandbox, sample):
    tamper = sample("protocol_tamper")
    classes = (("MatMul", [np.eye(2)]), ("Sigmoid", []), ("Affine", [np.eye(2), np.zeros(2)]))
    for cls, args in classes:
        subject = sandbox.subject(tamper)
        with pytest.raises(StudentCrash, match=GARBAGE):
            subject.new(cls, *args).forward(np.eye(2))
        subject.close()
    subject = sandbox.subject(tamper)
    with pytest.raises(StudentCrash):               # SGD.update closes the socket
        subject.new("SGD").sgd_update([np.eye(2)], [np.eye(2)])
    subject.close()
    assert works(sandbox)


def test_frames():
    message = {"a": [1, 2.5, None, "x"], "data": b"\x00\xff" * 3}
    assert protocol.unpack(protocol.pack(message)[4:]) == message
    for payload in (b"{", b"\xff", b"[" * 5000 + b"]" * 5000, b'{"$b64": "!!"}',
                    b'{"$b64": 3}', b"[" * 40 + b"]" * 40, b"1" * 5000):
        with pytest.raises(protocol.ProtocolError):
            protocol.unpack(payload)
    with pytest.raises(protocol.ProtocolError):
        protocol.pack({"big": "x" * (protocol.MAX_FRAME + 1)})
    a, b = socket.socketpair()
    a.sendall(b"\x7f\xff\xff\xff")
    with pytest.raises(protocol.ProtocolError):
        protocol.recv(b, time.monotonic() + 1)
    a.sendall(b"\x00\x00\x00\x09[1,")
    a.shutdown(socket.SHUT_WR)
    with pytest.raises(protocol.ProtocolError):
        protocol.recv(b, time.monotonic() + 1)
    c, d = socket.socketpair()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        protocol.recv(d, time.monotonic() + 0.2)
    assert time.monotonic() - started < 0.5
    for s in (a, b, c, d):
        s.close()


def test_answers_are_checked():
    array = {"kind": "array", "dtype": "<f8", "shape": [2], "data": bytes(16)}
    assert checked_answer("call", {"ok": {"result": array, "args_after": [array]}})
    assert checked_answer("new", {"ok": 3}) == {"ok": 3}
    long_type = checked_answer("read", {"ok": {"kind": "object", "type": "T" * 10**5}})
    assert len(long_type["ok"]["type"]) == 100
    bad = [{"ok": {"result": dict(array, shape=[3]), "args_after": []}},
           {"ok": {"result": dict(array, shape=[-2, -1]), "args_after": []}},
           {"ok": {"result": dict(array, shape=[True, 2]), "args_after": []}},
           {"ok": {"result": dict(array, dtype="|O"), "args_after": []}},
           {"ok": {"result": dict(array, dtype=["<f8"]), "args_after": []}},
           {"ok": {"result": {"kind": "scalar", "value": 10**400}, "args_after": []}},
           {"ok": {"result": {"kind": "list", "items": []}, "args_after": []}},
           {"ok": {"result": array}},
           {"ok": 1, "error": {}},
           {"error": {"type": 1, "message": "", "where": ""}},
           [], "ok", None]
    for answer in bad:
        with pytest.raises(protocol.ProtocolError):
            checked_answer("call", answer)
    with pytest.raises(protocol.ProtocolError):
        checked_answer("new", {"ok": True})


# --- out of reach, with bubblewrap and in the fallback (each child builds the same view) ---

@pytest.mark.parametrize("path", [REPO / "solutions" / "layers.py",
                                  REPO / "grading" / "judge" / "engine.py",
                                  REPO / "grading" / "judge" / "suites", REPO, Path.home(),
                                  Path("/usr/local/share")])
def test_files_out_of_reach(sandbox, path):
    _cannot_read(sandbox, path)


def test_a_classmates_world_readable_submission_is_out_of_reach(sandbox):
    """Submissions are files anyone may read (0644 in 0755 folders): a child must not find
    them, or it could print a classmate's code into its own feedback."""
    folder = Path(tempfile.mkdtemp(prefix="kata-classmate-", dir="/var/tmp"))
    try:
        folder.chmod(0o755)
        (folder / "layers.py").write_text("# a classmate's work\n")
        (folder / "layers.py").chmod(0o644)
        _cannot_read(sandbox, folder / "layers.py")
        _cannot_read(sandbox, folder)
    finally:
        shutil.rmtree(folder)


def _cannot_read(sandbox, path):
    probe = (f"import os\np = {str(path)!r}\ntry:\n"
             "    seen = ([n for n in os.listdir(p) if n not in ('.pyenv', '.venv')]\n"
             "            if os.path.isdir(p) else [open(p).read(20)])\n"
             "except OSError:\n    seen = []\n"
             "if seen:\n    raise RuntimeError(f'READ {seen[:3]}')\nreturn x")
    subject = sandbox.subject(forward_source(probe))
    subject.new("MatMul", np.eye(2)).forward(np.eye(2))     # raises if it could read
    subject.close()


def test_judge_modules_are_not_importable(sandbox):
    subject = sandbox.subject(forward_source("import grading.judge\nreturn x"))
    with pytest.raises(StudentError, match="ModuleNotFoundError"):
        subject.new("MatMul", np.eye(2)).forward(np.eye(2))
    subject.close()


def test_no_network(sandbox):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        subject = sandbox.subject(forward_source(
            f"socket.create_connection(('127.0.0.1', {port}), timeout=1)\nreturn x",
            prelude="import socket"))
        with pytest.raises(StudentError, match="ConnectionRefusedError|OSError"):
            subject.new("MatMul", np.eye(2)).forward(np.eye(2))
        subject.close()


def test_python_is_read_only(sandbox):
    subject = sandbox.subject(forward_source("open(np.__file__, 'a')\nreturn x"))
    with pytest.raises(StudentError, match="(OSError|PermissionError): .*(Read-only file system|Permission denied)"):
        subject.new("MatMul", np.eye(2)).forward(np.eye(2))
    subject.close()
