# nbgrader configuration of the kata's course (nbgrader 0.9.x).
#
# Run every instructor command with this folder as the working directory:
#     cd grading/course && nbgrader generate_assignment backprop
# The venv's bin/ must be on PATH: nbgrader runs `alembic` by name the first
# time it creates gradebook.db.
#
# Exchange: $KATA_EXCHANGE when set (self-tests use a temporary folder), else
# nbgrader's usual shared location. A command-line --Exchange.root=... still
# wins over both.
import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when it runs this file)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# --- the course ----------------------------------------------------------------
c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "backprop-kata"
# nbgrader's own default, written out: the gradebook lives in this folder
# (never commit it: see the .gitignore lines in the course README/report).
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

c.Exchange.root = os.environ.get("KATA_EXCHANGE") or "/usr/local/share/nbgrader/exchange"

# --- what gets copied ----------------------------------------------------------
# CourseDirectory.ignore is used by generate_assignment (source -> release), by
# autograde (source -> autograded) and by every exchange copy. It must not hide
# timestamp.txt or submission_secret.txt: collect and release_feedback need them.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",   # nbgrader's defaults
    ".*",                                   # hidden files and folders
    "*.py", "*.pyi", "*.pth", "*.so", "*.pyd",   # helpers, and modules a submission could use
    "grading", "solutions", "tests",        # to shadow the grader (python -m grading ...)
    "*.json", "*.toml", "*.cfg", "*.ini", "*.yaml", "*.yml", "*.md", "*.sh",
    "*.npz", "*.npy", "*.pkl", "*.pickle", "*.csv", "*.db", "*.zip", "*.tar*", "*.whl",
]
# Exchange copies (release_assignment, submit, collect) keep only these files.
c.CourseDirectory.include = ["*.ipynb", "timestamp.txt", "submission_secret.txt"]

# --- autograding ---------------------------------------------------------------
# Trust: the notebook runs in a sandboxed kernel (grading/course/kernel.py, jail.py) and
# its test cells' scores are only claims; the grade is the trusted grader's, computed
# outside any kernel and written into the gradebook (grading/course/trusted.py).
c.Execute.timeout = 30                      # seconds per cell
c.SandboxedExecute.timeout = 30
c.OverwriteCells.add_missing_cells = True   # a deleted test cell is put back, not skipped

# --- feedback ------------------------------------------------------------------
# generate_feedback renders the autograded notebook, whose test cells hold the
# hidden tests again (autograde restores them from the gradebook). Strip them,
# and keep tracebacks of graded cells from quoting them.
try:
    from grading.course.feedback import HideGradeCellTracebacks
except ImportError:          # grading/ not installed in this venv: use the checkout
    sys.path.insert(0, REPO)
    from grading.course.feedback import HideGradeCellTracebacks
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
                                    GetGrades, IgnorePattern, LimitOutput, SaveAutoGrades)

from grading.course.kernel import SandboxedExecute
from grading.course.trusted import SaveTrustedGrades, TrustedGrade

c.Autograde.autograde_preprocessors = [
    TrustedGrade,            # the grade, computed outside any kernel
    SandboxedExecute,        # the student's notebook, in its box
    IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades,          # what the kernel's cells claimed
    SaveTrustedGrades,       # replaced by the trusted scores (claims kept beside them)
    AssignLatePenalties, CheckCellMetadata,
]

c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTests,
    HideGradeCellTracebacks,
    CSSHTMLHeaderPreprocessor,
]
