"""DECIDES THE GRADE: nbgrader preprocessors around the kernel, trusted scores into the gradebook.

nbgrader autograde's pipeline here (nbgrader_config.py) is

    TrustedGrade        grade the notebook OUTSIDE any kernel: `python -m grading grade`,
                        from the checkout's grader, which no kernel ever sees (kernel.py)
    SandboxedExecute    run the notebook in its box (kernel.py); the hidden cells print the
                        trusted verdicts the box was given: what they score is only a CLAIM
    ... nbgrader's own IgnorePattern, ClearMetadata, LimitOutput, SaveAutoGrades ...
    SaveTrustedGrades   the trusted per-class scores become the gradebook's auto_score (the
                        claims are kept beside them); the test cells' outputs are replaced by
                        the trusted verdicts, so feedback pages, formgrader and `nbgrader
                        export` all show the trusted score.
    ... AssignLatePenalties, CheckCellMetadata

Records, per submission, in <course>/trusted/<student>/<assignment>/ (never bound into a
kernel): results.json (the grader's full report, for the instructor) and claims.json
({class: {"trusted": points, "kernel": what the kernel's cell claimed}}).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from grading.judge import CLASSES

REPO = Path(__file__).resolve().parent.parent.parent
TIMEOUT = 3             # seconds per call into student code (as the notebook's cells used)
GRADE_TIMEOUT = 300     # seconds for the whole `python -m grading grade` of one notebook
TRUSTED = "trusted"     # folder in the course root
# What the instructor sees and the student does not: seeds, isolation mode, paths.
_PRIVATE_LINE = re.compile(r"data seed|--seed|isolation:|bubblewrap|KATA_", re.I)


class TrustedGradeError(RuntimeError):
    """The trusted grader gave no result for a notebook."""


def record_dir(root, student, assignment):
    return Path(root) / TRUSTED / student / assignment


def _private_free(text, paths=()):
    kept = [line for line in text.splitlines() if not _PRIVATE_LINE.search(line)]
    text = "\n".join(kept)
    for path in paths:
        text = text.replace(str(path), "…")
    return text


def student_verdicts(results, notes=()):
    """{class: {"class", "score", "max_score", "output"}}: what the student may see of a
    results.json, per class: every test with PASS/FAIL and its points, failure reasons,
    and nothing of seeds, isolation or the grader's paths."""
    paths = [REPO, tempfile.gettempdir()]
    verdicts = {}
    for number, cls in enumerate(CLASSES, 1):
        info = results.get("kata", {}).get("classes", {}).get(cls, {"score": 0.0, "max_score": 25.0})
        lines = [f"{cls}: {info['score']:g} / {info['max_score']:g}"]
        for test in results.get("tests", []):
            if str(test.get("number", "")).split(".")[0] != str(number):
                continue
            mark = "PASS" if test.get("status") == "passed" else "FAIL"
            lines.append(f"  {mark}  {test.get('score', 0):g}/{test.get('max_score', 0):g}  "
                         f"{test.get('name', '')}")
            if mark == "FAIL" and test.get("output"):
                detail = _private_free(test["output"], paths)
                lines += ["        " + x for x in detail.splitlines() if x.strip()]
        error = results.get("kata", {}).get("error")
        if error:
            lines.append("  " + _private_free(error, paths))
        lines += [f"  Note: {_private_free(n, paths)}" for n in notes]
        verdicts[cls] = {"class": cls, "score": float(info["score"]),
                         "max_score": float(info["max_score"]), "output": "\n".join(lines)}
    return verdicts


GRADER_FILES = ("__init__.py", "__main__.py", "cli.py", "grader.py", "submissions.py",
                "rubric.toml", "judge", "sandbox")


def grader_hash():
    """sha256 over the files that decide a verdict (the CLI, grader, judge with its suites,
    sandbox, rubric), to notice a grader changed while autograde runs."""
    digest = hashlib.sha256()
    top = REPO / "grading"
    for name in GRADER_FILES:
        paths = sorted(p for p in (top / name).rglob("*") if p.is_file()) \
            if (top / name).is_dir() else [top / name]
        for path in paths:
            if "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(path.relative_to(top).as_posix().encode() + b"\0"
                              + path.read_bytes() + b"\0")
    return digest.hexdigest()


_started_with = None


def check_grader():
    """The grader's files must be the ones this process started with (no kernel can write
    them in the box; with KATA_KERNEL_SANDBOX=off a notebook could, between two students)."""
    global _started_with
    now = grader_hash()
    if _started_with is None:
        _started_with = now
    elif now != _started_with:
        raise TrustedGradeError("the grader's files changed while autograde ran (a notebook "
                                "outside the box?): grading stopped; restore the checkout "
                                "(git status) and autograde again")


def _grader_env():
    return {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "KATA_SANDBOX")}


def grade_outside(nb, student, assignment, notebook):
    """`python -m grading grade` on this notebook, in a process that is ours (never a
    kernel's); its results dict. The file is named <student>/<assignment>/<notebook>.ipynb
    so the grader derives the student's usual data seed."""
    with tempfile.TemporaryDirectory(prefix="kata-trusted-") as tmp:
        path = Path(tmp, "in", student, assignment, f"{notebook}.ipynb")
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
        out = Path(tmp, "out")
        cmd = [sys.executable, "-I", "-m", "grading", "grade", str(path), "--out", str(out),
               "--quiet", "--jobs", "1", "--timeout", f"{TIMEOUT:g}"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=_grader_env(),
                                  timeout=GRADE_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TrustedGradeError(f"{student}: the grader took over {GRADE_TIMEOUT} s") from None
        found = sorted(out.glob("*/results.json"))
        if not found:
            raise TrustedGradeError(f"{student}: `python -m grading grade` gave no result "
                                    f"(exit {done.returncode}): {done.stderr.strip()[-500:]}")
        return json.loads(found[0].read_text(encoding="utf-8"))


# --- grading many notebooks in one grader process (autograde.py does it before the workers) ---

PREGRADE = "pregrade.json"


def cells_key(data, student):
    """What the grader's verdict depends on: the grader's files, the student (the data seed)
    and the code cells the grader reads. None when the notebook cannot be read."""
    from grading import submissions
    try:
        cells = submissions.notebook_cells(data, f"{student}.ipynb")
    except Exception:           # noqa: BLE001 - then no reuse: TrustedGrade grades it itself
        return None
    text = json.dumps([grader_hash(), student, cells])
    return hashlib.sha256(text.encode()).hexdigest()


def pregrade(root, assignment, notebooks, jobs):
    """One `python -m grading grade` for {student: submitted notebook}: its start-up costs
    once instead of once per student. Each verdict is kept with the key of what was graded;
    TrustedGrade uses it only for a notebook with the same key (else it grades again)."""
    with tempfile.TemporaryDirectory(prefix="kata-pregrade-") as tmp:
        paths = {}
        for student, path in notebooks.items():      # <student>/<assignment>/<file>: its seed
            dest = Path(tmp, "in", student, assignment, Path(path).name)
            dest.parent.mkdir(parents=True)
            shutil.copyfile(path, dest)
            paths[student] = dest
        out = Path(tmp, "out")
        cmd = [sys.executable, "-I", "-m", "grading", "grade", *map(str, paths.values()),
               "--out", str(out), "--quiet", "--jobs", str(jobs), "--timeout", f"{TIMEOUT:g}"]
        subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=_grader_env(),
                       timeout=GRADE_TIMEOUT * max(1, len(paths)), stdin=subprocess.DEVNULL)
        done = 0
        for student, dest in paths.items():
            found = out / student / "results.json"
            key = cells_key(dest.read_bytes(), student)
            if not found.is_file() or key is None:
                continue
            folder = record_dir(root, student, assignment)
            folder.mkdir(parents=True, exist_ok=True)
            results = json.loads(found.read_text(encoding="utf-8"))
            (folder / PREGRADE).write_text(json.dumps({"key": key, "results": results}),
                                           encoding="utf-8")
            done += 1
        return done


def _pregraded(folder, nb, student):
    """The pregrade's results when they were computed from what `nb` holds; consumed."""
    path = folder / PREGRADE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path.unlink(missing_ok=True)
    key = cells_key(nbformat.writes(nb).encode(), student)
    return record.get("results") if key is not None and record.get("key") == key else None


class TrustedGrade(NbGraderPreprocessor):
    """Grade outside the kernel first; leave the verdicts for the kernel's box."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        check_grader()
        folder = record_dir(CourseDirectory(parent=self).root, student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        results = _pregraded(folder, nb, student)
        self.log.info("Trusted grade of %s: %s", student,
                      "from the batch run" if results else "graded now, outside the kernel")
        if results is None:
            results = grade_outside(nb, student, assignment, notebook)
        (folder / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        (folder / "claims.json").unlink(missing_ok=True)     # written again after the kernel
        verdicts = student_verdicts(results, results.get("kata", {}).get("notes", []))
        # The box binds this file read-only; nobody (uid 65534) must be able to read it.
        shown = Path(tempfile.mkdtemp(prefix="kata-verdicts-"))
        shown.chmod(0o755)
        (shown / "verdicts.json").write_text(json.dumps(verdicts), encoding="utf-8")
        (shown / "verdicts.json").chmod(0o644)
        resources.setdefault("kata", {}).update(
            verdicts=str(shown / "verdicts.json"), verdict_texts=verdicts, results=results,
            record=str(folder), cleanup=str(shown))
        return nb, resources


def _output_cell(cell, verdict):
    """The test cell as the trusted grader saw it: its verdict text and its score."""
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict["output"] + "\n"),
                    nbformat.v4.new_output("execute_result", data={"text/plain": repr(verdict["score"])},
                                           execution_count=cell.get("execution_count"))]


class SaveTrustedGrades(NbGraderPreprocessor):
    """After SaveAutoGrades: trusted scores into the gradebook, claims beside them."""

    def preprocess(self, nb, resources):
        kata = resources.get("kata") or {}
        info = resources["nbgrader"]
        verdicts = kata.get("verdict_texts")
        if verdicts is None:
            raise TrustedGradeError(f"{info['student']}: no trusted verdicts (TrustedGrade must "
                                    "come first in Autograde.autograde_preprocessors)")
        claims = {}
        for cell in nb.cells:
            if not utils.is_grade(cell):
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            cls = grade_id.removesuffix("_tests")
            if cls not in verdicts:
                continue
            claim, _ = utils.determine_grade(cell, self.log)
            claims[cls] = {"trusted": verdicts[cls]["score"], "kernel": claim}
            _output_cell(cell, verdicts[cls])
        write_scores(info["db_url"], info["notebook"], info["assignment"], info["student"],
                     {c: v["score"] for c, v in verdicts.items()})
        Path(kata["record"], "claims.json").write_text(json.dumps(claims, indent=1),
                                                       encoding="utf-8")
        shutil.rmtree(kata.get("cleanup", ""), ignore_errors=True)
        return nb, resources


def write_scores(db_url, notebook, assignment, student, scores):
    """The trusted per-class scores as each grade cell's auto_score (nbgrader's API).
    A manual score an instructor gave in formgrader stays, flagged for review as nbgrader
    itself does."""
    with Gradebook(db_url) as gb:
        for cls, score in scores.items():
            try:
                grade = gb.find_grade(f"{cls}_tests", notebook, assignment, student)
            except MissingEntry:
                continue
            grade.auto_score = float(score)
            grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()


def read_record(root, student, assignment):
    """(results dict or None, claims dict or None) of one submission."""
    folder = record_dir(root, student, assignment)
    out = []
    for name in ("results.json", "claims.json"):
        try:
            out.append(json.loads((folder / name).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            out.append(None)
    return tuple(out)
