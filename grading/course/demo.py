"""make demo (and the selftest): the whole course on sample students, in a folder of its own.

release (with kit) -> each student fetches, fills in and submits -> collect, autograde
(N workers) -> feedback, released and fetched -> grades. The course, the exchange and the
students' folders live in the work folder; the real course's gradebook is never touched.
"""
import concurrent.futures as futures
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.course import build_assignment as ba
from grading.course import samples
from grading.course.autograde import autograde
from grading.course.feedback import feedback
from grading.course.grades import grades
from grading.course.release import release
from grading.course.runner import (ASSIGNMENT, COURSE_ID, REPO, Course, LoopError, Say, bin_path,
                                   run_tool, tool_env)
from grading.judge import CLASSES

STUDENT_CONFIG = '''\
# A simulated student's nbgrader configuration (written by grading/course/demo.py).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
c.Exchange.cache = {cache!r}
'''


# --- the students' side ----------------------------------------------------------------------

def student_folder(work, student, exchange):
    folder = Path(work) / student
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(STUDENT_CONFIG.format(
        course_id=COURSE_ID, exchange=str(exchange), cache=str(folder / ".nbgrader-cache")))
    return folder


def student_nbgrader(folder, *args):
    code, lines = run_tool([bin_path("nbgrader"), *args], folder, tool_env())
    if code != 0:
        raise LoopError(f"{folder.name}: nbgrader {' '.join(args)} failed (exit {code}):\n"
                        + "\n".join(lines)[-2000:])
    return lines


def student_turn(folder, sample):
    """fetch_assignment, fill in the notebook as the sample says, submit."""
    student_nbgrader(folder, "fetch_assignment", ASSIGNMENT)
    samples.fill_file(folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", sample)
    student_nbgrader(folder, "submit", ASSIGNMENT, f"--student={sample.student}")


def fetch_feedback(folder, student):
    student_nbgrader(folder, "fetch_feedback", ASSIGNMENT, f"--student={student}")
    return sorted((folder / ASSIGNMENT / "feedback").glob("*/*.html"))


def parallel(func, items, jobs=None):
    """func(item) for every item, a few at a time; the first error is raised after all ran."""
    jobs = jobs or max(2, min(len(items), (os.cpu_count() or 1) * 2))

    def catch(item):
        try:
            return func(item)
        except Exception as exc:      # noqa: BLE001 - raised below, after all ran
            return exc
    with futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(catch, items))
    for result in done:
        if isinstance(result, BaseException):
            raise result
    return done


# --- the loop --------------------------------------------------------------------------------

@dataclass
class LoopResult:
    work: Path
    course: Course = None
    kit: Path = None
    autograde_seconds: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    grades_csv: Path = None
    export_csv: Path = None
    instructor_pages: list = field(default_factory=list)
    student_pages: dict = field(default_factory=dict)
    phases: dict = field(default_factory=dict)


def course_paths(work):
    return {"repo": str(REPO), "course": str(Path(work) / "course"),
            "exchange": str(Path(work) / "exchange")}


def exchange_loop(work, sample_list, say=None, jobs=None, before_autograde=None):
    """The whole course on sample students, in `work`. Raises LoopError on a failed step
    or a leak. before_autograde(course): called once everything is submitted."""
    work = Path(work)
    say = say or Say()
    course = Course(root=work / "course", exchange=work / "exchange", check_owner=False, say=say)
    source = Path(course.root) / "source" / ASSIGNMENT
    source.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ba.NOTEBOOK, source / ba.NOTEBOOK.name)
    course.exchange_root.mkdir(parents=True, exist_ok=True)
    result = LoopResult(work, course)

    def phase(name, func, *args, **kwargs):
        t0 = time.monotonic()
        value = func(*args, **kwargs)
        result.phases[name] = time.monotonic() - t0
        return value

    _, result.kit = phase("release", release, course, kit=work / "dist" / "student-kit.zip")
    say(f"students: {len(sample_list)} fetch, fill in and submit, in {work / 'students'}")
    folders = {s.student: student_folder(work / "students", s.student, course.exchange_root)
               for s in sample_list}
    phase("students", parallel, lambda s: student_turn(folders[s.student], s), sample_list)
    for s in sample_list:
        say(f"  {s.student:<10} {s.what}")
    if before_autograde is not None:
        before_autograde(course)
    result.autograde_seconds = phase("autograde", autograde, course, jobs=jobs)
    result.instructor_pages = phase("feedback", feedback, course)
    pages = phase("fetch_feedback", parallel,
                  lambda s: fetch_feedback(folders[s.student], s.student), sample_list)
    result.student_pages = {s.student: p for s, p in zip(sample_list, pages)}
    say(f"  {sum(map(len, pages))} feedback pages fetched by the students")
    result.rows, result.grades_csv = phase("grades", grades, course, work / "graded")
    result.export_csv = work / "graded" / "nbgrader-export.csv"
    return result


def check_samples(result, sample_list):
    """Problems: a sample whose trusted scores, kernel claims or status are not the expected."""
    problems = []
    rows = {r.student: r for r in result.rows}
    for s in sample_list:
        row = rows.get(s.student)
        if row is None or row.trusted is None:
            problems.append(f"{s.student}: not autograded")
            continue
        for cls in CLASSES:
            if abs(row.trusted[cls] - s.expected[cls]) > 1e-6:
                problems.append(f"{s.student}: the gradebook holds {cls} {row.trusted[cls]:g}, "
                                f"expected {s.expected[cls]:g}")
            want = s.kernel_expected()[cls]
            got = (row.kernel or {}).get(cls)
            if got is None or abs(got - want) > 1e-6:
                problems.append(f"{s.student}: its kernel claimed {cls} {got}, expected {want:g}")
        if s.status not in row.status:
            problems.append(f"{s.student}: status {row.status!r} does not say {s.status!r}")
    return problems


def demo(work=REPO / "demo", jobs=None):
    """`make demo`: the exchange loop on the bundled samples in demo/ (made afresh)."""
    work = Path(work)
    say = Say()
    started = time.monotonic()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    sample_list = samples.build_samples()
    say(f"demo: the instructor's work on {len(sample_list)} sample students, in {work}")
    result = exchange_loop(work, sample_list, say, jobs=jobs)
    say("")
    say("The tamper case in nbgrader's own export (the gradebook's trusted score):")
    for line in result.export_csv.read_text().splitlines():
        if line.startswith(("assignment", ASSIGNMENT)) and ("tamper" in line or "student_id" in line):
            say("  " + line)
    say("")
    say("Feedback pages, as each student fetched them:")
    for s in sample_list:
        for page in result.student_pages.get(s.student, []):
            say(f"  {s.student:<10} {page}")
    say("")
    say(f"Where things are (all under {work}; the next demo starts afresh):")
    for rel, what in (("exchange", "the nbgrader exchange (outbound, inbound, feedback)"),
                      ("students/<id>", "each student's folder: the fetched notebook, feedback/"),
                      ("course", "the course: release/, submitted/, autograded/, feedback/, gradebook.db"),
                      ("course/trusted/<id>", "the trusted grader's results.json and the kernel's claims"),
                      ("graded/nbgrader-grades.csv", "trusted points per class, kernel claims, status"),
                      ("graded/nbgrader-export.csv", "nbgrader's own export (the same trusted scores)"),
                      ("dist/student-kit.zip", "the student kit of this release")):
        say(f"  {rel:<28} {what}")
    say("")
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items())
    say(f"demo finished in {time.monotonic() - started:.1f} s ({phases})")
    unexpected = check_samples(result, sample_list)
    for problem in unexpected:
        say("  unexpected: " + problem, style="bold red")
    return 1 if unexpected else 0
