"""Worker processes that grade one task at a time and never outlive the grader.

    with Workers(jobs, func) as workers:
        for key, result in workers.run({key: (args, kwargs)}):
            ...                     # result is func's return value, or a `WorkerDied`

Each worker is a fresh Python (multiprocessing "spawn": nothing inherited from a process
that may run threads) that asks the kernel to SIGKILL it when the grader's main process
dies (PR_SET_PDEATHSIG), so a grader killed even by SIGKILL leaves no worker behind; the
worker's sandbox goes with it (bubblewrap --die-with-parent, the fork server's own death
signal). Workers start with SIGINT ignored: Ctrl-C is the main process's to handle, and
`close()` (or leaving the `with`) kills them at once, whatever they were doing.

Where there are at least as many CPUs as workers (and more than one worker), each worker
gets a CPU of its own, which its sandbox inherits: a worker and its sandboxed child trade
some 300 small messages per submission, and on one CPU each exchange is a plain context
switch instead of a wake-up across CPUs (costly in a virtual machine): measured +8 % on
`make bench`'s grader corpus at --jobs 2 on 2 cores.
"""
import collections
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1
RETRIES = 1                    # a task whose worker died is tried once more, in a new worker


class WorkerDied:
    """The result of a task whose worker died (twice) while running it."""

    def __init__(self, exitcode):
        self.exitcode = exitcode

    def __repr__(self):
        return f"WorkerDied(exitcode={self.exitcode})"


def _watch_parent(parent):
    """Where prctl is missing (not Linux): poll instead of a kernel signal."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def die_with_parent(parent):
    """SIGKILL this process when `parent` dies (Linux), or a thread that notices."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:       # it died before the signal was armed
        os._exit(1)


def _serve(conn, parent, func):
    """A worker's life: tasks in, results out, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    while True:
        try:
            key, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        conn.send((key, func(*args, **kwargs)))


class _Worker:
    def __init__(self, context, func, cpu=None):
        ours, theirs = context.Pipe()
        # Ignored from the first instruction on (SIG_IGN survives exec, and Python keeps
        # an ignored SIGINT ignored): a Ctrl-C during start-up cannot reach the worker.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.process = context.Process(target=_serve, args=(theirs, os.getpid(), func),
                                           daemon=True, name="kata-grader-worker")
            self.process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
            theirs.close()
        self.conn, self.task, self.cpu = ours, None, cpu
        if cpu is not None:
            try:
                os.sched_setaffinity(self.process.pid, {cpu})
            except OSError:      # gone already, or the CPU was taken from us: run anywhere
                self.cpu = None

    def kill(self):
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class Workers:
    """At most `jobs` workers running `func`; see the module's docstring."""

    def __init__(self, jobs, func):
        self.jobs, self.func = max(1, int(jobs)), func
        self.context = multiprocessing.get_context("spawn")
        self.workers = []
        allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cpus = allowed if 1 < self.jobs <= len(allowed) else []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Kill every worker now (they may be in the middle of a task); a second Ctrl-C
        cannot cut this short."""
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            while self.workers:
                self.workers.pop().kill()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)

    def run(self, tasks):
        """Yield (key, result) as tasks finish; `tasks`: {key: (args, kwargs)}."""
        pending = collections.deque(tasks)
        tries = collections.Counter()
        while pending or any(w.task is not None for w in self.workers):
            for worker in self.workers:
                if worker.task is None and pending:
                    worker.task = pending.popleft()
                    worker.conn.send((worker.task, *tasks[worker.task]))
            while pending and len(self.workers) < self.jobs:
                taken = {w.cpu for w in self.workers}
                cpu = next((c for c in self.cpus if c not in taken), None)
                self.workers.append(_Worker(self.context, self.func, cpu))
                self.workers[-1].task = pending.popleft()
                self.workers[-1].conn.send((self.workers[-1].task, *tasks[self.workers[-1].task]))
            busy = {w.conn: w for w in self.workers if w.task is not None}
            for conn in multiprocessing.connection.wait(list(busy)):
                worker = busy[conn]
                try:
                    key, result = conn.recv()
                except (EOFError, OSError):
                    key = worker.task
                    worker.kill()
                    self.workers.remove(worker)
                    tries[key] += 1
                    if tries[key] <= RETRIES:
                        pending.appendleft(key)
                        continue
                    result = WorkerDied(worker.process.exitcode)
                worker.task = None
                yield key, result
