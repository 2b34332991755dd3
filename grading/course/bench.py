"""Benchmark of `make autograde`: seconds per student, one worker and JOBS workers.

    python -m grading.course.bench [--students 24] [--jobs 2]     (make bench-autograde)

One course is released and N sample students' notebooks (the demo's samples, over and
over) are put straight into submitted/; then copies of that course are autograded with
--jobs 1 and with --jobs J, each through the whole trusted pipeline (grader outside,
sandboxed kernel, scores into the gradebook). Prints figures; asserts nothing. On a
shared machine the figures are noisy: the load average is printed with them.
"""
import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from grading.course import samples
from grading.course.autograde import autograde, gradebook_digest
from grading.course.release import release
from grading.course.runner import ASSIGNMENT, Course, Say
from grading.course import build_assignment as ba

STOCK = 2.7     # s per student: stock nbgrader autograde of this notebook, earlier, this machine


def prepare(work, count):
    """A released course with `count` submissions in submitted/ (as collect leaves them)."""
    course = Course(root=work / "course", exchange=work / "exchange", say=Say(quiet=True))
    source = Path(course.root) / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy2(ba.NOTEBOOK, source / ba.NOTEBOOK.name)
    release(course, kit=None)
    released = nbformat.read(str(Path(course.root) / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
                             as_version=4)
    pool = samples.build_samples()
    students = []
    for i in range(count):
        sample = pool[i % len(pool)]
        student = f"s{i + 1:02d}-{sample.student}"
        folder = Path(course.root) / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(samples.fill(released, sample), str(folder / f"{ASSIGNMENT}.ipynb"))
        (folder / "timestamp.txt").write_text("2026-12-01 06:00:00.000000 UTC")
        students.append(student)
    return course, students


def timed(course, root, jobs):
    copy = Course(root=root, exchange=course.exchange, say=Say(quiet=True))
    shutil.copytree(course.root, root)
    started = time.monotonic()
    autograde(copy, do_collect=False, jobs=jobs)
    return time.monotonic() - started, copy


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m grading.course.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=24)
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kata-bench-") as tmp:
        course, students = prepare(Path(tmp), args.students)
        n = len(students)
        print(f"autograde benchmark: {n} students, trusted pipeline (grader outside, kernel in "
              f"bubblewrap), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        one, seq = timed(course, Path(tmp, "jobs1"), 1)
        print(f"  JOBS=1:  {one:6.1f} s  {one / n:5.2f} s per student")
        many, par = timed(course, Path(tmp, f"jobs{args.jobs}"), args.jobs)
        print(f"  JOBS={args.jobs}:  {many:6.1f} s  {many / n:5.2f} s per student  "
              f"({one / many:.2f}x JOBS=1)")
        print(f"  stock nbgrader (unsandboxed, kernel-decided scores), measured earlier on this "
              f"machine: about {STOCK} s per student; JOBS={args.jobs} here: "
              f"{STOCK / (many / n):.2f}x that speed")
        same = gradebook_digest(seq.db_url) == gradebook_digest(par.db_url)
        print(f"  gradebooks of JOBS=1 and JOBS={args.jobs}: {'identical' if same else 'DIFFERENT'}")
        print(f"  load average after: {os.getloadavg()[0]:.1f} (other work on this machine "
              "slows both runs; rerun on a quiet machine for final figures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
