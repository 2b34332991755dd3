"""Autograde progress: one bar for all workers, a line per student as each one ends.

Each `nbgrader autograde` worker's log is read line by line (`Progress.reader(worker)`);
a student starts at the first line naming its submitted/ or autograded/ folder and ends at
the worker's next student, or when the worker ends. Thread-safe: workers log at once.
"""
import re
import threading
import time

from grading.course.runner import ASSIGNMENT, NOISE

STUDENT = re.compile(r"/(?:submitted|autograded)/([^/\s]+)/" + re.escape(ASSIGNMENT) + r"\b")


class Progress:
    def __init__(self, say, total):
        self.say, self.total = say, total
        self.seconds, self.skipped, self.failed = {}, [], []
        self.lock = threading.Lock()
        self.bar = None
        if say.console is not None and say.console.is_terminal and not say.quiet and total:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                       TextColumn, TimeElapsedColumn)
            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=say.console)
            self.task = self.bar.add_task("autograde", total=total)
            self.bar.start()

    def print(self, text):
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            self.say(text)

    def reader(self, worker):
        return _WorkerLog(self, worker)

    def done(self, student, seconds, worker):
        with self.lock:
            self.seconds[student] = seconds
            if self.bar is not None:
                self.bar.update(self.task, advance=1, description=f"autograde: {student}")
            mark = " FAILED" if student in self.failed else ""
            self.print(f"  autograded {student} ({seconds:.1f} s, worker {worker}){mark}")

    def stop(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class _WorkerLog:
    """Follows one worker's log."""

    def __init__(self, progress, worker):
        self.progress, self.worker = progress, worker
        self.current, self.started = None, None

    def _close(self, now):
        if self.current is not None:
            self.progress.done(self.current, now - self.started, self.worker)
            self.current = None

    def __call__(self, line):
        now = time.monotonic()
        found = STUDENT.search(line)
        p = self.progress
        if found and "Skipping existing" in line:         # graded before, and no --force
            with p.lock:
                if found.group(1) not in p.skipped:
                    p.skipped.append(found.group(1))
            return
        if found and found.group(1) != self.current and found.group(1) not in p.seconds:
            self._close(now)
            self.current, self.started = found.group(1), now
        if NOISE.search(line):
            return
        if "| ERROR]" in line and self.current:
            with p.lock:
                if self.current not in p.failed:
                    p.failed.append(self.current)
        if "| WARNING]" in line or "| ERROR]" in line or "Traceback" in line:
            p.print(f"  nbgrader ({self.worker}): " + line.split("] ", 1)[-1])

    def end(self):
        self._close(time.monotonic())
