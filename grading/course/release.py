"""make release: check everything first, then publish (the notebook, then the kit).

Order, so that a refused release leaves nothing half done:
  1. the source notebook is what solutions/ gives (build_assignment --check);
  2. the student kit is built in memory from solutions/ (stub generator), tests/ and the
     student's part of the Makefile/README, and scanned;
  3. nbgrader generate_assignment writes release/ (inside the course, not published yet),
     which is scanned;
  4. only then: release_assignment to the exchange, and dist/student-kit.zip.
"""
import subprocess
import sys
from pathlib import Path

from grading.course import kit as student_kit
from grading.course import leakscan
from grading.course.runner import ASSIGNMENT, COURSE_ID, REPO, LoopError


def ensure_exchange(course):
    root = course.exchange_root
    if root.is_dir():
        return
    try:
        root.mkdir(parents=True)
        root.chmod(0o777)       # students write their submissions into it
    except OSError as exc:
        raise LoopError(f"the exchange {root} does not exist and cannot be made ({exc}); "
                        "set KATA_EXCHANGE (or make release EXCHANGE=<folder>) to a folder "
                        "everyone in the course can write") from None
    course.say(f"  made the exchange folder {root}")


def check_source():
    done = subprocess.run([sys.executable, "-m", "grading.course.build_assignment", "--check"],
                          capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise LoopError("nothing was released: the source notebook is not what solutions/ "
                        "gives; run `make generate` first\n" + done.stderr[-2000:])


def release(course, kit=REPO / "dist" / "student-kit.zip"):
    """Returns (released folder, kit path or None); raises LoopError, naming the cause,
    before anything reaches the exchange or dist/."""
    say = course.say
    say(f"release: course {course.root}, exchange {course.exchange_root}")
    check_source()
    files = None
    if kit is not None:
        try:
            files = student_kit.prepare()
        except student_kit.KitError as exc:
            raise LoopError(f"nothing was released: {exc}") from None
        say(f"  student kit: {len(files)} files from solutions/ (through the stub generator), "
            "tests/ and the student's part of Makefile/README; leak scan clean")
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force",
                    what="student version written to release/ (not published yet)")
    released = Path(course.root) / "release" / ASSIGNMENT
    texts = [(REPO / "solutions" / f).read_text(encoding="utf-8")
             for f in sorted(p.name for p in (REPO / "solutions").glob("*.py"))]
    problems = leakscan.scan_release(released, texts)
    if problems:
        raise LoopError(f"nothing was released: LEAK in {released} (the notebook nbgrader "
                        "generated from source/)\n  " + "\n  ".join(problems))
    say(f"  leak scan of {released}: clean (only the notebook; no solution or hidden test code)")
    ensure_exchange(course)
    course.nbgrader("release_assignment", ASSIGNMENT, "--force",
                    what=f"released to {course.exchange_root / COURSE_ID / 'outbound' / ASSIGNMENT}")
    if files is not None:
        kit = student_kit.write_zip(files, kit)
        say(f"  student kit {kit}: {len(files)} files")
    return released, kit
