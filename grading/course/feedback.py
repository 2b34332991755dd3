"""A generate_feedback preprocessor: no hidden test code in error tracebacks.

nbgrader's feedback HTML shows every output of the autograded notebook. When a
graded cell fails (a timeout, an interrupt), IPython's traceback quotes the
lines of the cell that was running, i.e. the hidden test code. This keeps the
error's name and message and drops the quoted frames, for graded cells only:
tracebacks of the student's own cells stay as they are, they only show the
student's code.

Scores are not touched: generate_feedback reads them from the gradebook (the trusted
scores, see trusted.py). Below: the feedback stage of the course loop.
"""
from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from grading.course import leakscan
from grading.course.runner import ASSIGNMENT, COURSE_ID, LoopError
from grading.judge import CLASSES


class HideGradeCellTracebacks(NbGraderPreprocessor):
    """Replace the traceback of each error output of a grade cell by one line."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    name = output.get("ename", "Error")
                    output["traceback"] = [
                        f"{name}: the hidden tests of this cell stopped with an error; "
                        "this part scores 0."
                    ]
        return cell, resources


# --- the stage: generate, scan, release --------------------------------------------------

def scan_feedback(course):
    """(problems, html paths): the feedback pages must show no hidden test code and no
    solution code beyond what the student wrote, plain or encoded (leakscan.decodings)."""
    secret = leakscan.secret_lines()
    pages = sorted(Path(course.root).glob(f"feedback/*/{ASSIGNMENT}/*.html"))
    problems = []
    for page in pages:
        student = page.parent.parent.name
        own = leakscan.notebook_lines(course.submitted_notebook(student))
        text = page.read_text(encoding="utf-8", errors="replace")
        problems += leakscan.scan_lines(f"feedback {student}/{page.name}",
                                        leakscan.html_lines(text), secret, own, decode=True)
        if f"{CLASSES[0]}_tests" not in text:
            problems.append(f"feedback {student}/{page.name}: no graded cells in it (empty page?)")
    if not pages:
        problems.append(f"no feedback pages in {Path(course.root) / 'feedback'}")
    return problems, pages


def feedback(course):
    """generate_feedback, the leak scan of the pages, release_feedback; the pages' paths.
    Nothing is released when a page leaks."""
    say = course.say
    say(f"feedback: course {course.root}")
    if not any(Path(course.root).glob(f"autograded/*/{ASSIGNMENT}")):
        raise LoopError("nothing autograded yet: run make autograde first")
    course.nbgrader("generate_feedback", ASSIGNMENT, "--force",
                    what=f"HTML in {Path(course.root) / 'feedback'}")
    problems, pages = scan_feedback(course)
    if problems:
        raise LoopError("LEAK in the feedback pages: nothing was released\n  "
                        + "\n  ".join(problems))
    say(f"  leak scan of {len(pages)} feedback pages: clean (no hidden test code, no solution "
        "code the student did not write, also not encoded)")
    course.nbgrader("release_feedback", ASSIGNMENT,
                    what=f"to {course.exchange_root / COURSE_ID / 'feedback'}")
    return pages
