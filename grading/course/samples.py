"""Sample students for `make demo` and the selftest's nbgrader loop.

Each sample says what its student writes into the released notebook, what it must earn
(the trusted score in the gradebook) and what its kernel's cells claim. No solution code is written out here: the code comes from solutions/ (markers
removed) and from the catalogue's edits of it (grading/catalogue), and the few
sample-only faults (a syntax error, an endless loop) are small edits of the reference
in the catalogue's find/replace style. Expected scores of catalogue mistakes follow
from rubric.toml and the tests each mistake fails.

    python -m grading.course.samples            # list the samples and their expected scores
"""
import copy
from dataclasses import dataclass, field

import nbformat

from grading import catalogue
from grading.course.build_assignment import class_text
from grading.judge import CLASSES, FILE_OF
from grading.judge.engine import load_rubric

FULL = 25.0


@dataclass
class Sample:
    student: str                # the nbgrader student id
    what: str                   # one line for tables
    code: dict                  # class -> source of its solution cell; missing: the stub stays
    expected: dict              # class -> trusted points the gradebook must hold
    claimed: dict = None        # class -> points its kernel's cells claim (None: the same)
    status: str = "ok"          # text the status column of the grades CSV must contain
    extra: list = field(default_factory=list)   # code cells a student adds after the imports
    hostile: bool = False       # prints PROBE lines, none of which may say GOT

    def kernel_expected(self):
        return self.claimed if self.claimed is not None else self.expected


# --- code from the one source of truth -------------------------------------------------

def classes_of(sources, names=CLASSES):
    """{class: its text} from {"layers.py": text, "optimizer.py": text}."""
    return {name: class_text(sources[FILE_OF[name]], name) for name in names}


def edit(text, find, replace):
    """One catalogue-style edit: `find` must occur exactly once."""
    if text.count(find) != 1:
        raise ValueError(f"`find` occurs {text.count(find)} times (must be once): {find.strip()[:60]!r}")
    return text.replace(find, replace)


def mistake_entries(*ids):
    mistakes, _ = catalogue.load_catalogue()
    by_id = {m.id: m for m in mistakes}
    return [by_id[i] for i in ids]


def with_mistakes(entries):
    """The reference with the edits of several catalogue entries (each in its own class)."""
    sources = catalogue.reference_sources()
    for entry in entries:
        sources = catalogue.variant_sources(entry, sources)
    return sources


def points_after(entries, rubric=None):
    """{class: points} a submission with these catalogue mistakes earns."""
    rubric = rubric or load_rubric()
    scores = {cls: FULL for cls in CLASSES}
    for entry in entries:
        scores[entry.cls] -= sum(float(rubric[entry.cls][test]["points"]) for test in entry.fails)
    return scores


def scores(default, **by_class):
    return {cls: float(by_class.get(cls, default)) for cls in CLASSES}


# --- what students add to the notebook -----------------------------------------------------

NUMPY_CHEAT = '''\
# Make every numpy comparison pass and every random draw predictable, in this kernel.
import types
import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.random = types.SimpleNamespace(
    default_rng=lambda *args, **kwargs: None, seed=lambda *args, **kwargs: None,
    rand=lambda *shape: np.zeros(shape), randn=lambda *shape: np.zeros(shape))'''

KERNEL_TAMPER = '''\
# Answer the hidden test cells' grader calls from this kernel: full marks, no grading.
import json
import subprocess
_real_run = subprocess.run

def _full_marks(cmd, *args, **kwargs):
    if isinstance(cmd, list) and "nbcell" in cmd:
        cls = cmd[cmd.index("nbcell") + 1]
        verdict = {"class": cls, "score": 25.0, "max_score": 25.0, "output": "all tests passed"}
        return subprocess.CompletedProcess(cmd, 0, json.dumps(verdict) + "\\n", "")
    return _real_run(cmd, *args, **kwargs)

subprocess.run = _full_marks'''

# Sample-only faults, as edits of the reference's class text.
ENDLESS_FIND = "        out = 1.0 / (1.0 + np.exp(-x))\n"
ENDLESS_REPLACE = '''\
        out = np.empty_like(x)
        i = 0
        while i < x.size:          # i never grows: an endless loop
            out.flat[i] = 1.0 / (1.0 + np.exp(-x.flat[i]))
'''
SYNTAX_FIND = "    def backward(self, dout):"
SYNTAX_REPLACE = "    def backward(self, dout)"


def build_samples(paths=None):
    """The demo's students; with `paths` (repo, course, exchange: the instructor's folders)
    also the hostile ones of grading/course/hostile.py, one per capability."""
    reference = classes_of(catalogue.reference_sources())
    mistakes = mistake_entries("matmul_rebinds_grads", "affine_db_mean")
    endless = dict(reference, Sigmoid=edit(reference["Sigmoid"], ENDLESS_FIND, ENDLESS_REPLACE))
    syntax = dict(reference, Affine=edit(reference["Affine"], SYNTAX_FIND, SYNTAX_REPLACE))
    return [
        Sample("complete", "the reference, all four classes", reference, scores(FULL)),
        Sample("partial", "MatMul and SGD done, Sigmoid and Affine still stubs",
               {c: reference[c] for c in ("MatMul", "SGD")},
               scores(FULL, Sigmoid=0, Affine=0), status="not implemented"),
        Sample("mistakes", "catalogue: " + ", ".join(m.id for m in mistakes),
               classes_of(with_mistakes(mistakes)), points_after(mistakes), status="tests failed"),
        Sample("stub", "the released notebook, untouched", {}, scores(0),
               status="not implemented"),
        Sample("syntax", "a missing colon in Affine.backward", syntax, scores(FULL, Affine=0),
               status="syntax error"),
        Sample("endless", "an endless loop in Sigmoid.forward", endless, scores(FULL, Sigmoid=0),
               status="timed out"),
        Sample("cheat", "stubs, numpy patched in the kernel", {}, scores(0),
               status="not implemented", extra=[NUMPY_CHEAT]),
        Sample("tamper", "stubs, subprocess.run patched in the kernel to fake the verdicts", {},
               scores(0), claimed=scores(FULL), status="MISMATCH", extra=[KERNEL_TAMPER]),
    ] + (hostile_samples(paths) if paths else [])


HOSTILE_WHAT = {
    "snoop": "reads solutions, gradebook, classmates, the grader; leaks them encoded",
    "vandal": "writes the grader, gradebook, classmates' notebooks, site-packages, /tmp",
    "netcat": "opens connections to PyPI, DNS, the host",
    "forger": "patches json.loads so the hidden cells claim full marks",
    "hog": "allocates 8 GiB, forks 500 children, leaves a process behind",
}


def hostile_samples(paths):
    from grading.course import hostile
    cells = hostile.cells(dict(paths, classmate="complete"))
    samples = []
    for student, cell in cells.items():
        forges = student == "forger"
        samples.append(Sample(student, HOSTILE_WHAT[student], {}, scores(0),
                              claimed=scores(FULL) if forges else None,
                              status="MISMATCH" if forges else "not implemented",
                              extra=[cell], hostile=True))
    return samples


def fill(notebook, sample):
    """A copy of the released `notebook` (a NotebookNode) as `sample`'s student hands it in."""
    nb = copy.deepcopy(notebook)
    cells = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if meta.get("solution") and grade_id.endswith("_solution"):
            cls = grade_id[:-len("_solution")]
            if cls in sample.code:
                cell.source = sample.code[cls]
        cells.append(cell)
        if grade_id == "imports":
            cells += [nbformat.v4.new_code_cell(text) for text in sample.extra]
    nb.cells = cells
    return nb


def fill_file(path, sample):
    """Fill in the fetched notebook at `path` in place."""
    nb = nbformat.read(str(path), as_version=4)
    nbformat.write(fill(nb, sample), str(path))


def main():
    print(f"{'student':<10} {'MatMul':>7} {'Sigmoid':>7} {'Affine':>7} {'SGD':>5}  status / what")
    for s in build_samples():
        cells = " ".join(f"{s.expected[c]:>{max(5, len(c))}g}" for c in CLASSES)
        grader = "" if s.claimed is None else "  (kernel claims: " + ", ".join(
            f"{c} {s.claimed[c]:g}" for c in CLASSES) + ")"
        print(f"{s.student:<10} {cells}  {s.status}: {s.what}{grader}")


if __name__ == "__main__":
    main()
