"""One pytest session per judge process, kept for every submission it grades.

Starting pytest (configuration, plugins, collecting the four hidden suites) costs about
40 ms, as much as the tests of a stub submission. So the session starts once, in a
thread of its own that stays inside `pytest.main`: our `pytest_runtestloop` waits there for
jobs and runs the collected items again for each (pytest re-runs an item by making it a
fresh request, as pytest-rerunfailures does). The last item of a job is run with no next
item, so every fixture, the per-class subject included, is torn down before the next job.

    session = Session(args, plugin)         # plugin: engine._KataPlugin
    session.run(classes)                    # the plugin now holds the job's reports

Only public hooks are used. A job whose run raises ends the session (its state may be
half torn down); the next job starts a new one.
"""
import os
import queue
import threading

import pytest


class SessionError(RuntimeError):
    """pytest could not start, collect, or run a job."""


class _Job:
    def __init__(self, classes):
        self.classes = classes
        self.done = threading.Event()
        self.error = None


class _Loop:
    """The plugin that keeps the session open: it runs jobs instead of one test run."""

    def __init__(self, session):
        self.owner = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        self.owner.collected(session)
        while True:
            job = self.owner.jobs.get()
            if job is None:
                return True
            try:
                plugin = self.owner.plugin
                items = [i for i in session.items if plugin.class_of(i) in job.classes]
                for item, after in zip(items, items[1:] + [None]):
                    item.ihook.pytest_runtest_protocol(item=item, nextitem=after)
            except BaseException as exc:       # noqa: B036 (handed to the caller)
                job.error = exc
                self.owner.broken = True
            finally:
                job.done.set()
            if self.owner.broken:
                return True


class Session:
    """A pytest session in a daemon thread; `run(classes)` runs the items of `classes`.

    `plugin` gives the fixtures and collects the reports: `class_of(item)` and `errors`
    (collection errors) are all this module asks of it."""

    def __init__(self, args, plugin):
        self.plugin, self.jobs = plugin, queue.Queue()
        self.broken, self.errors, self.exit_code = False, plugin.errors, None
        self.pid = os.getpid()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, args=(args,), daemon=True,
                                        name="kata-judge-pytest")
        self._thread.start()
        self._ready.wait()
        if self.broken:
            raise SessionError(f"the hidden suites did not start (pytest exit "
                               f"{self.exit_code}): " + "\n".join(self.errors)[-2000:])

    def _main(self, args):
        try:
            self.exit_code = pytest.main(args, plugins=[self.plugin, _Loop(self)])
        except BaseException as exc:           # noqa: B036 (reported by __init__)
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.broken = True
            self._ready.set()
            # A job queued while pytest was ending finds the session gone, never hangs.
            while True:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job.error = SessionError("the hidden suites' session ended")
                    job.done.set()

    def collected(self, session):
        """Called in the session's thread once the suites are collected."""
        if session.testsfailed or self.errors:
            self.broken = True
        self._ready.set()
        if self.broken:
            self.jobs.put(None)

    def run(self, classes):
        """Run the items of `classes`; the plugin collects their reports."""
        with self._lock:
            if self.broken:
                raise SessionError("the hidden suites' session ended")
            job = _Job(tuple(classes))
            self.jobs.put(job)
            job.done.wait()
        if job.error is not None:
            raise SessionError(f"the hidden suites failed: {job.error!r}") from job.error
