"""The instructor's nbgrader work on the kata's course, one command per stage.

    python -m grading.course.loop release     # check all, then publish: notebook + dist/student-kit.zip
    python -m grading.course.loop autograde   # collect; autograde with --jobs N workers, progress, table
    python -m grading.course.loop feedback    # generate_feedback, leak scan, release_feedback
    python -m grading.course.loop grades      # nbgrader export + graded/nbgrader-grades.csv
    python -m grading.course.loop demo        # all of it on the bundled sample students, in demo/

The stages, one file each:
  runner.py     running nbgrader for a course          release.py   + kit.py, leakscan.py
  autograde.py  collect, parallel workers (progress.py) feedback.py  pages, leak scan
  grades.py     export, CSV, MISMATCH                  demo.py      the demo's choreography
The trust boundary:
  RUNS STUDENT CODE   kernel.py (the kernel nbgrader talks to) in jail.py's box
  DECIDES THE GRADE   trusted.py (grader outside any kernel; scores into the gradebook)

The exchange is the one nbgrader_config.py names ($KATA_EXCHANGE, else nbgrader's shared
folder) unless --exchange says otherwise. Exit status: 0 when all went well, 1 when a
step failed, something leaked or a kernel claimed other scores than the trusted grader.
"""
import argparse
import sys
from pathlib import Path

from grading.course.autograde import autograde, collect, default_jobs
from grading.course.demo import demo
from grading.course.feedback import feedback
from grading.course.grades import grades
from grading.course.release import release
from grading.course.runner import COURSE_DIR, DEFAULT_EXCHANGE, REPO, Course, LoopError


def build_kit(dest):
    """dist/student-kit.zip as `make release` builds it (checked; KitError when it would leak)."""
    from grading.course import kit
    return kit.write_zip(kit.prepare(), dest)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m grading.course.loop",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["release", "collect", "autograde", "feedback", "grades",
                                       "demo"])
    p.add_argument("--exchange", help="the exchange folder (default: $KATA_EXCHANGE, else "
                                      f"{DEFAULT_EXCHANGE})")
    p.add_argument("--course", default=str(COURSE_DIR),
                   help="the course's root folder (default: grading/course)")
    p.add_argument("--force", action="store_true",
                   help="autograde: grade again what was graded before (make autograde FORCE=1)")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"autograde, demo: students graded at once (default: {default_jobs()}, "
                        "the number of cores; make autograde JOBS=N)")
    p.add_argument("--out", default=str(REPO / "graded"),
                   help="grades: folder for nbgrader-grades.csv (default: graded/)")
    p.add_argument("--kit", default=str(REPO / "dist" / "student-kit.zip"),
                   help="release: where the student kit goes")
    p.add_argument("--work", default=str(REPO / "demo"), help="demo: its folder (made afresh)")
    args = p.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        p.error(f"--jobs must be 1 or more (JOBS={args.jobs})")
    # nbgrader runs in grading/course: every path it gets must be absolute.
    course = Course(root=Path(args.course).resolve(),
                    exchange=Path(args.exchange).resolve() if args.exchange else None)
    try:
        if args.command == "release":
            release(course, kit=Path(args.kit).resolve())
        elif args.command == "collect":
            collect(course)
        elif args.command == "autograde":
            autograde(course, force=args.force, jobs=args.jobs)
        elif args.command == "feedback":
            feedback(course)
        elif args.command == "grades":
            rows, _ = grades(course, Path(args.out).resolve())
            return 1 if any(r.mismatch for r in rows) else 0
        elif args.command == "demo":
            return demo(Path(args.work).resolve(), jobs=args.jobs)
    except LoopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the gradebook keeps what was finished; run the command again",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
