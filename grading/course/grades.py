"""make grades: nbgrader's export, and graded/nbgrader-grades.csv with a status per student.

Scores come from the gradebook, where trusted.py wrote the trusted grader's points; the
status says why points were lost (from the trusted results.json) and MISMATCH, with both
numbers, where the student's kernel claimed other scores than the trusted ones.
"""
import csv
import time
from dataclasses import dataclass
from pathlib import Path

from grading.course import trusted
from grading.course.autograde import gradebook_scores, kernel_claims
from grading.course.runner import ASSIGNMENT, REPO
from grading.judge import CLASSES

FULL = 25.0
# What a failed test's feedback says when the code never gave an answer, most telling first.
REASONS = (("timed out", ("did not finish within", "of CPU time: an endless loop")),
           ("crashed", ("the process running your code ended", "sent garbage")),
           ("syntax error", ("SyntaxError",)),
           ("no class", ("no class ",)),
           ("not implemented", ("NotImplementedError",)))
ORDER = [k for k, _ in REASONS] + ["tests failed"]


def grader_status(results):
    """{class: why it lost points} from a results.json of `python -m grading grade`."""
    kinds = {}
    for test in results.get("tests", []):
        if test.get("status") == "passed":
            continue
        cls = CLASSES[int(str(test["number"]).split(".")[0]) - 1]
        text = test.get("output", "")
        kind = next((k for k, words in REASONS if any(w in text for w in words)), "tests failed")
        if cls not in kinds or ORDER.index(kind) < ORDER.index(kinds[cls]):
            kinds[cls] = kind
    return kinds


def describe(kinds):
    if not kinds:
        return "ok"
    groups = {}
    for cls in CLASSES:
        if cls in kinds:
            groups.setdefault(kinds[cls], []).append(cls)
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items())


@dataclass
class GradeRow:
    student: str
    trusted: dict           # class -> points in the gradebook (None: not autograded)
    kernel: dict            # class -> points the kernel's cells claimed (None: no record)
    status: str

    @property
    def total(self):
        return None if self.trusted is None else sum(self.trusted.values())

    @property
    def kernel_total(self):
        return None if self.kernel is None else sum(v or 0.0 for v in self.kernel.values())

    @property
    def mismatch(self):
        return self.status.startswith("MISMATCH")


def grade_row(course, student, scores):
    results, _ = trusted.read_record(course.root, student, ASSIGNMENT)
    claims = kernel_claims(course, student)
    if scores is None:
        return GradeRow(student, None, claims, "not autograded")
    if results is None:
        return GradeRow(student, scores, claims, "no trusted grade on record: autograde again "
                        "(make autograde FORCE=1)")
    if results["kata"].get("error"):
        return GradeRow(student, scores, claims, "grader error: " + results["kata"]["error"])
    status = describe(grader_status(results))
    if claims is None:
        status = "kernel did not finish (nbgrader's log says why); trusted: " + status
    differ = [c for c in CLASSES if claims and claims.get(c) is not None
              and abs(claims[c] - scores[c]) > 1e-6]
    if differ:
        status = (f"MISMATCH: kernel claimed {sum(v or 0 for v in claims.values()):g}, trusted "
                  f"{sum(scores.values()):g} ("
                  + ", ".join(f"{c} {claims[c]:g} vs {scores[c]:g}" for c in differ)
                  + f"): the notebook tampered with its kernel; trusted: {status}")
    return GradeRow(student, scores, claims, status)


def grade_rows(course):
    scores = gradebook_scores(course)
    return [grade_row(course, s, scores.get(s)) for s in sorted(set(scores) | set(course.submitted()))]


def write_grades_csv(rows, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", *CLASSES, "total", "max", "kernel_claimed", "status"])
        for row in rows:
            t = row.trusted or {}
            w.writerow([row.student, *(f"{t[c]:g}" if c in t else "" for c in CLASSES),
                        "" if row.total is None else f"{row.total:g}", f"{FULL * len(CLASSES):g}",
                        "" if row.kernel_total is None else f"{row.kernel_total:g}", row.status])
    return path


def read_export(path):
    """{student: total score} from nbgrader export's CSV."""
    with open(path, newline="", encoding="utf-8") as f:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)
                if r.get("assignment") == ASSIGNMENT}


def grades(course, out=REPO / "graded"):
    """nbgrader export, then graded/nbgrader-grades.csv; (rows, csv path). The export's
    totals must be the CSV's (both are the gradebook's trusted scores)."""
    say = course.say
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"grades: course {course.root}")
    export = out / "nbgrader-export.csv"
    started = time.monotonic()
    course.nbgrader("export", f"--to={export}", what=f"nbgrader's own table in {export}")
    rows = grade_rows(course)
    path = write_grades_csv(rows, out / "nbgrader-grades.csv")
    exported = read_export(export)
    for row in rows:
        if row.total is not None and abs(exported.get(row.student, -1) - row.total) > 1e-6:
            row.status = (f"EXPORT DIFFERS: nbgrader export {exported.get(row.student)}, "
                          f"gradebook {row.total:g}; " + row.status)
    show = [[r.student, *((f"{r.trusted[c]:g}" if r.trusted else "-") for c in CLASSES),
             "-" if r.total is None else f"{r.total:g}",
             "-" if r.kernel_total is None else f"{r.kernel_total:g}", r.status] for r in rows]
    say.table(f"grades: trusted scores ({path}, {time.monotonic() - started:.1f} s)",
              ["student", *CLASSES, "total", "kernel claimed", "status"], show)
    mismatches = [r.student for r in rows if r.mismatch]
    if mismatches:
        say(f"  {len(mismatches)} MISMATCH: the kernel claimed other scores than the trusted "
            "grader for " + ", ".join(mismatches) + ". The gradebook, nbgrader export and "
            "formgrader hold the trusted scores; look at these notebooks.", style="bold red")
    return rows, path
