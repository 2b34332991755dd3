"""Write the nbgrader source notebook of the kata from the reference solutions.

    python -m grading.course.build_assignment           # (re)write the notebook
    python -m grading.course.build_assignment --check   # exit 1 if it is missing or stale

Output: grading/course/source/backprop/backprop.ipynb. A collapsed, read-only helper
cell holds the public suite's check modules (tests/kata_*.py, gradcheck.py). For each
class: a markdown explanation, a solution cell (the class copied from solutions/, with
its BEGIN/END SOLUTION markers: nbgrader's ClearSolutions turns those regions into
stubs), and one autograded test cell: it prints the class's visible checks (and fails
them under `nbgrader validate`), and its hidden part asks `python -m grading nbcell
CLASS` for the score. A last cell sums up every class, as `make test` does.
"""
import argparse
import difflib
import re
import sys
from pathlib import Path

import nbformat

from grading.course.notebook_text import (CLASS_MD, GRAPH_MD, IMPORTS_MD, IMPORTS_SOURCE, INTRO,
                                          NETWORK_MODULES, OUTRO, TRAIN_MD, TRAIN_SOURCE)

COURSE = Path(__file__).resolve().parent
REPO = COURSE.parent.parent
ASSIGNMENT = "backprop"
NOTEBOOK = COURSE / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

POINTS = 25.0                 # per class; four classes -> 100
SUBPROCESS_TIMEOUT = 25       # seconds; below nbgrader's per-cell Execute.timeout (30)
# Seconds one call into student code may take when `nbcell` grades (its --timeout). The
# first test cell of a notebook grades all four classes (the others read the result
# from the nbcell cache), so even four endless loops stay far below SUBPROCESS_TIMEOUT.
NBCELL_TIMEOUT = 3
# (solution file, class) in notebook order
CLASSES = [("layers.py", "MatMul"), ("layers.py", "Sigmoid"),
           ("layers.py", "Affine"), ("optimizer.py", "SGD")]
SCHEMA_VERSION = 3


# --- reading the solutions -------------------------------------------------------

def class_text(source, name):
    """The top-level `class name` block of a module (without decorators or comments above
    it, nor trailing blank lines)."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(rf"class\s+{re.escape(name)}\b", line)]
    if len(starts) != 1:
        raise ValueError(f"expected one top-level `class {name}`, found {len(starts)}")
    start, end = starts[0], len(lines)
    for j in range(start + 1, len(lines)):
        line = lines[j]
        if line.strip() and not line[0].isspace() and not line.lstrip().startswith("#"):
            end = j
            break
    block = lines[start:end]
    while block and not block[-1].strip():
        block.pop()
    return "\n".join(block)


def class_block(source, name):
    """`class_text`, checked to hold a solution region."""
    text = class_text(source, name)
    if "### BEGIN SOLUTION" not in text or "### END SOLUTION" not in text:
        raise ValueError(f"class {name} has no ### BEGIN SOLUTION / ### END SOLUTION region")
    return text


def read_solutions(solutions_dir=None):
    """{class name: class text} read from solutions/layers.py and solutions/optimizer.py."""
    folder = Path(solutions_dir) if solutions_dir else REPO / "solutions"
    texts = {}
    for filename, name in CLASSES:
        texts[name] = class_block((folder / filename).read_text(encoding="utf-8"), name)
    return texts


# --- the hidden test snippet ---------------------------------------------------------

def hidden_test_code(class_name, points=POINTS, timeout=SUBPROCESS_TIMEOUT,
                     nbcell_timeout=NBCELL_TIMEOUT):
    """The code between BEGIN/END HIDDEN TESTS for one class.

    It runs `python -I -m grading nbcell CLASS` in the kernel's working directory
    (the submission folder), prints the grader's feedback text to stdout, and
    leaves a plain float in [0, points] as the cell's value. Any failure prints a
    message and scores 0.0. Standard library only; nothing is written to stderr. It leaves
    the score in _hidden_score, which the cell's last line makes its value.

    `-I` keeps the submission folder off the grader's sys.path (a submitted json.py
    or grading/ would be imported otherwise) and ignores PYTHON* variables; the few
    variables passed on leave out what a notebook could set to weaken the grader
    (KATA_SANDBOX=off, say). A kernel can still fake the cell outright (patch
    subprocess); `make grades` regrades outside it and flags that.
    """
    return f'''import json as _json, os as _os, subprocess as _subprocess, sys as _sys
_score = 0.0
try:
    _run = _subprocess.run(
        [_sys.executable, "-I", "-m", "grading", "nbcell", "{class_name}",
         "--timeout", "{nbcell_timeout:g}"],
        cwd=_os.getcwd(), capture_output=True, text=True, timeout={timeout},
        stdin=_subprocess.DEVNULL,
        env={{_k: _v for _k, _v in _os.environ.items()
             if _k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "KATA_NBCELL_CACHE")}})
    _lines = [_l for _l in _run.stdout.splitlines() if _l.lstrip().startswith("{{")]
    _verdict = _json.loads(_lines[-1]) if _lines else None
    if not isinstance(_verdict, dict) or _verdict.get("class") != "{class_name}":
        print("{class_name}: the grader gave no result (exit code %s); this part scores 0."
              % _run.returncode)
    else:
        print(str(_verdict.get("output", "")))
        _score = float(_verdict.get("score", 0.0))
except Exception as _exc:
    print("{class_name}: the grader could not run (%s); this part scores 0." % type(_exc).__name__)
if not _score >= 0.0:  # NaN; nbgrader would count it as full marks
    _score = 0.0
_hidden_score = float(min(max(_score, 0.0), {float(points)!r}))'''


def test_cell_source(class_name):
    """The class's check cell. Run by hand (Run All) it prints the class's state; under
    `nbgrader validate` a class that fails raises with the same text, so Validate fails
    and says why. Under autograde the hidden tests set _hidden_score, which is the cell's
    value (its score) and the visible check is not called at all."""
    return (f"# 읽기 전용 칸: {class_name} 검사. 채점 때는 숨은 테스트도 이 칸에서 실행됩니다.\n"
            f"# Read-only cell: checks {class_name}. At grading time the hidden tests run here too.\n"
            "_hidden_score = None\n"
            "### BEGIN HIDDEN TESTS\n"
            f"{hidden_test_code(class_name)}\n"
            "### END HIDDEN TESTS\n"
            f"{check_call(class_name)} if _hidden_score is None else _hidden_score")


# --- the checks: the public suite's own modules, embedded ------------------------------

# The notebook checks each class with the very code `make test` runs (tests/kata_*.py and
# gradcheck.py): the helper cell holds their sources and makes modules of them, so both
# speak with one voice, and `--check` (selftest) notices when the notebook falls behind.
CHECK_MODULES = ["gradcheck", "kata_guard", "kata_checks", "kata_model", "kata_layers",
                 "kata_sgd", "kata_progress"]
TESTS = REPO / "tests"


def helpers_source(tests_dir=TESTS):
    """The helper cell: each module of CHECK_MODULES made from its embedded source."""
    parts = [
        "# 읽기 전용 칸 (접혀 있음): 검사 코드입니다. 실행만 하면 됩니다. "
        "/ Read-only cell (collapsed): the checks' code, the same as `make test`'s tests/. "
        "Run it; no need to read it.",
        "import sys as _sys, types as _types",
        "",
        "",
        "def _kata_module(name, source):",
        "    module = _types.ModuleType(name)",
        "    module.__file__ = name + \".py\"",
        "    _sys.modules[name] = module",
        "    exec(compile(source, module.__file__, \"exec\"), module.__dict__)",
        "    return module",
        "",
    ]
    for name in CHECK_MODULES:
        target = "kata = " if name == CHECK_MODULES[-1] else ""
        parts.append(target + _embedded(name, Path(tests_dir) / f"{name}.py"))
    return "\n".join(parts)


def _embedded(module_name, path):
    """A line that makes module `module_name` from the source of `path`, embedded verbatim."""
    text = Path(path).read_text(encoding="utf-8").rstrip("\n")
    if "\'\'\'" in text or text.endswith("\\"):
        raise ValueError(f"{path} cannot be embedded in a raw \'\'\' string")
    return f"_kata_module({module_name!r}, r\'\'\'{text}\n\'\'\')"


NETWORK = REPO / "network"


def network_source(network_dir=NETWORK):
    """The provided-network cell: the package `network` and its modules, made from their
    embedded sources (the helper cell's _kata_module), as `make train` imports them."""
    parts = ["# 읽기 전용 칸 (접혀 있음): 제공 코드 network/ (채점하지 않음). 실행만 하면 됩니다. "
             "/ Read-only cell (collapsed): the provided network/ code, as `make train` runs it "
             "(not graded). Run it; no need to read it.",
             _embedded("network", Path(network_dir) / "__init__.py")]
    for name in NETWORK_MODULES:
        parts.append(f"_sys.modules['network'].{name} = "
                     + _embedded(f"network.{name}", Path(network_dir) / f"{name}.py"))
    parts.append("_network_train = _sys.modules['network.train']")
    return "\n".join(parts)


def check_call(class_name):
    return f'kata.check("{class_name}", globals())'


SUMMARY_SOURCE = ("# 읽기 전용 칸: 모든 클래스의 상태와 다음 할 일. / Read-only cell: every class's "
                  "state, and what to do next.\nkata.summary(globals())")


# --- the notebook ----------------------------------------------------------------------

def _markdown(cell_id, text):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = cell_id
    return cell


def _code(cell_id, text, *, grade_id=None, solution=False, grade=False, locked=False,
          points=None, readonly=False):
    cell = nbformat.v4.new_code_cell(text)
    cell.id = cell_id
    if grade_id is not None:
        meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
                "schema_version": SCHEMA_VERSION, "solution": solution}
        if grade:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    if readonly:
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
    return cell


def _not_graded(cell):
    # The grader skips these cells (they only call the student's code, see
    # grading/submissions.py): an endless loop must not cost it a second per load.
    cell.metadata["kata"] = {"role": "visible-checks"}
    return cell


def build_notebook(solutions, tests_dir=TESTS):
    """The source notebook as a NotebookNode; `solutions` maps class name -> class text."""
    helpers = _not_graded(_code("check-helpers", helpers_source(tests_dir), readonly=True))
    helpers.metadata["jupyter"] = {"source_hidden": True}
    cells = [_markdown("intro", INTRO),
             _markdown("imports-md", IMPORTS_MD),
             _code("imports", IMPORTS_SOURCE, grade_id="imports", locked=True, readonly=True),
             helpers,
             _markdown("graph-md", GRAPH_MD)]
    for _, name in CLASSES:
        key = name.lower()
        cells.append(_markdown(f"{key}-md", CLASS_MD[name]))
        cells.append(_code(f"{key}-solution", solutions[name], grade_id=f"{name}_solution",
                           solution=True))
        cells.append(_code(f"{key}-tests", test_cell_source(name), grade_id=f"{name}_tests",
                           grade=True, locked=True, points=POINTS, readonly=True))
    cells.append(_markdown("outro", OUTRO))
    cells.append(_not_graded(_code("summary", SUMMARY_SOURCE, readonly=True)))
    network = _not_graded(_code("network-code", network_source(), readonly=True))
    network.metadata["jupyter"] = {"source_hidden": True}
    cells += [_markdown("train-md", TRAIN_MD), network,
              _not_graded(_code("train", TRAIN_SOURCE, readonly=True))]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)",
                                 "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def render(solutions_dir=None, tests_dir=TESTS):
    text = nbformat.writes(build_notebook(read_solutions(solutions_dir), tests_dir))
    return text if text.endswith("\n") else text + "\n"


def stray_files():
    """Files next to the notebook in source/backprop: they would be released too."""
    folder = NOTEBOOK.parent
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and p != NOTEBOOK)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.course.build_assignment",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the notebook is missing or out of date")
    parser.add_argument("--solutions", help="folder with layers.py and optimizer.py "
                                            "(default: solutions/ of the repository)")
    args = parser.parse_args(argv)
    try:
        text = render(args.solutions)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problems = [f"stray file in {NOTEBOOK.parent}: {f}" for f in stray_files()]
    if args.check:
        old = NOTEBOOK.read_text(encoding="utf-8") if NOTEBOOK.exists() else None
        if old is None:
            problems.append(f"{NOTEBOOK} does not exist: run python -m grading.course.build_assignment")
        elif old != text:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), "on disk", "generated",
                                        lineterm="", n=1)
            problems.append(f"{NOTEBOOK} is out of date:\n" + "\n".join(list(diff)[:40]))
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    NOTEBOOK.parent.mkdir(parents=True, exist_ok=True)
    NOTEBOOK.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK}")
    for p in problems:
        print("warning: " + p, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
