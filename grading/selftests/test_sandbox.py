"""The sandbox against hostile submissions: run with KATA_SANDBOX=bwrap and with =off.

Whole hostile submissions are written from grading/samples/hostile.toml into a temporary
folder (the `sample` fixture); small inline sources here cover single behaviours. Timeouts
are short so the file runs in a few seconds.
"""
import os
import time

import numpy as np
import pytest

from grading.judge.remote import Sandbox
from grading.judge.subject import StudentCrash, StudentError, StudentTimeout

from grading.selftests.support import (GOOD_LAYERS, GOOD_OPTIMIZER, alive, children_of,
                                      descendants, forward_source, process_table, processes_named, works)


# --- what a correct submission gets ----------------------------------------------------

def test_right_numbers(sandbox):
    subject = sandbox.subject({"layers": GOOD_LAYERS, "optimizer": GOOD_OPTIMIZER})
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    dout = rng.standard_normal((4, 2))
    layer = subject.new("MatMul", W)
    out = layer.forward(x)
    assert type(out) is np.ndarray and np.allclose(out, x @ W)
    assert np.allclose(layer.backward(dout), dout @ W.T)
    assert np.allclose(layer.read("grads")[0], x.T @ dout)
    sig = subject.new("Sigmoid")
    assert np.allclose(sig.forward(x), 1 / (1 + np.exp(-x)))
    sgd = subject.new("SGD", lr=0.5)
    after = sgd.sgd_update([W], [dout[:3]])
    assert np.allclose(after["params"][0], W - 0.5 * dout[:3])
    subject.close()
    assert subject.exit_info is not None and subject.output == ""
    with pytest.raises(StudentError):
        subject.new("Sigmoid")


def test_exception_names_the_line(sandbox):
    subject = sandbox.subject(forward_source("raise ValueError('shapes do not match')"))
    with pytest.raises(StudentError) as caught:
        subject.new("MatMul", np.eye(2)).forward(np.eye(2))
    assert type(caught.value) is StudentError
    assert caught.value.info["type"] == "ValueError"
    assert "layers.py line 7" in caught.value.info["where"]
    subject.close()


def test_missing_class_is_an_error(sandbox):
    subject = sandbox.subject({"layers": "x = 1", "optimizer": ""})
    with pytest.raises(StudentError, match="no class Affine"):
        subject.new("Affine", np.eye(2), np.zeros(2))
    subject.close()


# --- time ----------------------------------------------------------------------------

def test_endless_loop_times_out_once(quick, sample):
    subject = quick.subject(sample("endless_loop"))
    layer = subject.new("MatMul", np.eye(2))
    started = time.monotonic()
    with pytest.raises(StudentTimeout, match=r"forward\(\) did not finish within 0.5 s"):
        layer.forward(np.eye(2))
    assert time.monotonic() - started < 1.5
    started = time.monotonic()
    with pytest.raises(StudentTimeout):          # no second wait
        layer.forward(np.eye(2))
    assert time.monotonic() - started < 0.3
    subject.close()
    assert subject.exit_info == {"signal": 9, "by_us": True}
    assert works(quick)


def test_endless_loop_while_loading(quick):
    subject = quick.subject({"layers": "while True:\n    pass\n", "optimizer": ""})
    with pytest.raises(StudentTimeout, match="loading your files did not finish"):
        subject.new("MatMul", np.eye(2))
    subject.close()


# --- the process ends --------------------------------------------------------------

def test_os_exit_at_import(sandbox, sample):
    subject = sandbox.subject(sample("exit_at_import"))
    with pytest.raises(StudentCrash, match="exited with code 3"):
        subject.new("MatMul", np.eye(2))
    subject.close()
    assert subject.exit_info == {"code": 3}
    assert works(sandbox)


def test_sys_exit_is_an_error_not_an_end(sandbox, sample):
    subject = sandbox.subject(sample("sys_exit"))
    sig = subject.new("Sigmoid")                # sys.exit(0) ended layers.py after the classes
    sig.forward(np.zeros((1, 2)))
    with pytest.raises(StudentError, match="SystemExit"):
        sig.backward(np.ones((1, 2)))
    assert np.allclose(sig.forward(np.zeros((1, 2))), 0.5)   # still alive
    subject.close()


def test_os_exit_in_a_method_fails_fast_afterwards(sandbox, sample):
    subject = sandbox.subject(sample("exit_in_method"))
    layer = subject.new("Affine", np.eye(2), np.zeros(2))
    layer.forward(np.eye(2))
    with pytest.raises(StudentCrash, match="exited with code 0") as first:
        layer.backward(np.eye(2))
    with pytest.raises(StudentCrash) as second:
        layer.forward(np.eye(2))
    assert str(second.value) == str(first.value)
    subject.close()
    assert works(sandbox)


def test_other_processes_cannot_be_signalled(sandbox, sample):
    subject = sandbox.subject(sample("kill_parent"))
    with pytest.raises(StudentError, match="PermissionError"):
        subject.new("MatMul", np.eye(2)).forward(np.eye(2))
    with pytest.raises(StudentError, match="PermissionError"):
        subject.new("Sigmoid").forward(np.eye(2))
    subject.close()
    assert works(sandbox)


def test_lost_fork_server_is_replaced(sandbox):
    subject = sandbox.subject({"layers": GOOD_LAYERS, "optimizer": ""})
    layer = subject.new("MatMul", np.eye(2))
    # Kill the fork server from outside (inside, the seccomp filter stops it): the first
    # python process below the one we started (that may be bwrap).
    server = sandbox._server.process.pid
    while not process_table()[server][1].startswith("python"):
        server = children_of(server)[0]
    child = children_of(server)[0]
    os.kill(server, 9)
    deadline = time.monotonic() + 2       # the child goes with it, a moment later
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.005)
    with pytest.raises(StudentCrash):
        layer.forward(np.eye(2))
    subject.close()
    assert works(sandbox)


@pytest.mark.parametrize("code", [
    "os.fork()", "subprocess.run(['true'])", "os.posix_spawn('/bin/true', ['true'], {})",
    "multiprocessing.Process(target=print).start()", "multiprocessing.Pool(2)"])
@pytest.mark.needs("seccomp")
def test_new_processes_are_refused(sandbox, code):
    subject = sandbox.subject(forward_source(f"{code}\nreturn x",
                                             prelude="import multiprocessing, os, subprocess"))
    layer = subject.new("MatMul", np.eye(2))
    before = descendants(sandbox)
    with pytest.raises(StudentError, match=r"PermissionError: \[Errno 1\] Operation not permitted"):
        layer.forward(np.eye(2))
    assert descendants(sandbox) == before
    subject.close()


def test_threads_still_work(sandbox):
    # glibc creates threads with clone3 first, which the filter answers ENOSYS, then clone.
    subject = sandbox.subject(forward_source(
        "results = []\n"
        "threads = [threading.Thread(target=lambda: results.append(x @ self.W)) for _ in range(4)]\n"
        "for t in threads:\n    t.start()\nfor t in threads:\n    t.join()\n"
        "return sum(results)", prelude="import threading"))
    assert np.allclose(subject.new("MatMul", np.eye(2)).forward(np.ones((1, 2))), 4)
    subject.close()


@pytest.mark.needs("seccomp")
def test_fork_bomb_is_refused_at_once(sandbox, sample):
    subject = sandbox.subject(sample("fork_bomb"))
    sigmoid = subject.new("Sigmoid")
    before = descendants(sandbox)
    started = time.monotonic()
    with pytest.raises(StudentError, match="PermissionError"):
        sigmoid.forward(np.eye(2))
    assert time.monotonic() - started < 1
    assert descendants(sandbox) == before
    out = subject.new("MatMul", np.eye(2)).forward(np.ones((1, 2)))    # the same process
    assert np.allclose(out, 1)
    subject.close()
    assert works(sandbox)


@pytest.mark.needs("seccomp")
def test_detached_processes_never_exist(sandbox, sample):
    subject = sandbox.subject(sample("detached_child"))
    subject.new("Sigmoid")                     # the child is up, its files loaded
    before = descendants(sandbox)
    subject.new("MatMul", np.eye(2))           # the fork is refused, the sample goes on
    assert descendants(sandbox) == before
    subject.close()


def test_detached_processes_are_killed_at_close(sample):
    # As where seccomp is not supported: the child may fork, the fork server cleans up.
    with Sandbox(timeout=2, refuse_forks=False) as sandbox:
        subject = sandbox.subject(sample("detached_child"))
        subject.new("MatMul", np.eye(2))
        deadline = time.monotonic() + 2
        while not processes_named("kata-sleeper", sandbox) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert processes_named("kata-sleeper", sandbox)
        subject.close()
        assert processes_named("kata-sleeper", sandbox) == []


# --- output, memory, values ------------------------------------------------------

def test_print_flood_is_cut(sandbox, sample):
    subject = sandbox.subject(sample("print_flood"))
    started = time.monotonic()
    out = subject.new("MatMul", np.eye(2)).forward(np.ones((1, 2)))   # prints 100 MB
    assert np.allclose(out, 1)
    with pytest.raises(StudentError, match="File too large"):          # os.write: RLIMIT_FSIZE
        subject.new("Sigmoid").forward(np.ones((1, 2)))
    assert time.monotonic() - started < 3
    subject.close()
    assert subject.output.startswith("xxxx") and "more bytes of output not shown" in subject.output
    assert len(subject.output) < 5000


def test_memory_hog_gets_memory_error(sandbox, sample):
    subject = sandbox.subject(sample("memory_hog"))
    with pytest.raises(StudentError, match="MemoryError"):
        subject.new("MatMul", np.eye(2)).forward(np.eye(2))
    with pytest.raises(StudentError, match="MemoryError"):
        subject.new("Sigmoid").forward(np.eye(2))
    subject.close()


def test_lying_subclass_arrives_as_plain_ndarray(sandbox, sample):
    subject = sandbox.subject(sample("lying_array"))
    out = subject.new("MatMul", np.eye(2)).forward(np.ones((3, 2)))
    assert type(out) is np.ndarray and out.shape == (3, 2)
    assert not (out == 1).any() and not np.allclose(out, 1)
    x = np.array([[0.0, 100.0]])
    assert np.allclose(subject.new("Sigmoid").forward(x), 1 / (1 + np.exp(-x)))
    subject.close()


def test_nan_arrives_as_nan(sandbox, sample):
    subject = sandbox.subject(sample("nan_result"))
    out = subject.new("MatMul", np.eye(2)).forward(np.ones((1, 2)))
    assert type(out) is np.ndarray and np.isnan(out).all()
    subject.close()


def test_patching_numpy_stays_in_the_child(sandbox, sample):
    subject = sandbox.subject(sample("numpy_patch"))
    out = subject.new("MatMul", np.eye(2)).forward(np.ones((1, 2)))
    assert not np.allclose(out, 1) and not np.isfinite(np.nan)
    assert isinstance(np.random.default_rng(0), np.random.Generator)
    subject.close()
