"""The student's notebook as released: what Validate says, what Run All shows.

Works on a temporary course: the source notebook through `nbgrader generate_assignment`,
then copies with the solution cells filled in (the reference, one wrong answer, an
endless loop, half done), each validated by `nbgrader validate` or run by nbclient.
"""
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grading.proofs import PY, run, step

VENV_BIN = str(Path(PY).parent)
NBGRADER = [PY, "-m", "nbgrader"]
CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "notebook-proof"
c.CourseDirectory.db_url = "sqlite:///" + {db!r}
"""
# (class, find, replace) edits of the reference, or "stub": the class as released.
WRONG_SGD = ("SGD", "            p -= self.lr * g", "            p = p - self.lr * g")
ENDLESS_SIGMOID = ("Sigmoid", "        out = 1.0 / (1.0 + np.exp(-x))",
                   "        while True:\n            pass")


def env():
    return dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))


def released(tmp):
    """The student version of the source notebook, made by nbgrader in a temporary course."""
    from grading.course import build_assignment as ba
    course = Path(tmp, "course")
    (course / "source" / ba.ASSIGNMENT).mkdir(parents=True)
    (course / "source" / ba.ASSIGNMENT / ba.NOTEBOOK.name).write_bytes(ba.NOTEBOOK.read_bytes())
    (course / "nbgrader_config.py").write_text(
        CONFIG.format(root=str(course), db=str(course / "gradebook.db")))
    done = run(NBGRADER + ["generate_assignment", ba.ASSIGNMENT, "--force"], cwd=course, env=env())
    path = course / "release" / ba.ASSIGNMENT / ba.NOTEBOOK.name
    if done.returncode != 0 or not path.exists():
        raise RuntimeError("nbgrader generate_assignment failed:\n" + done.stdout[-1500:]
                           + done.stderr[-1500:])
    return path


def variant(release_path, out, edits=(), stubs=()):
    """A copy of the released notebook with every solution cell holding the reference
    (edited by `edits`), except the classes in `stubs`, which stay as released."""
    import nbformat
    from grading.course import build_assignment as ba
    reference = ba.read_solutions()
    nb = nbformat.read(release_path, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        cls = grade_id.removesuffix("_solution")
        if grade_id.endswith("_solution") and cls not in stubs:
            text = reference[cls]
            for name, find, replace in edits:
                if name == cls:
                    assert find in text, f"{find!r} not in the reference {cls}"
                    text = text.replace(find, replace, 1)
            cell.source = text
    nbformat.write(nb, out)
    return out


def validate(path):
    started = time.monotonic()
    done = run(NBGRADER + ["validate", str(path)], cwd=path.parent, env=env())
    return done.stdout + done.stderr, time.monotonic() - started


def failed_classes(text):
    return [c for c in ("MatMul", "Sigmoid", "Affine", "SGD")
            if f"CheckFailed: {c} does not pass its checks yet" in text]


@step("notebook: Validate fails on the stubs (naming them), on a wrong answer (with the "
      "check's message) and on an endless loop (quickly), and passes the reference")
def notebook_validate(problems):
    with tempfile.TemporaryDirectory(prefix="voice-validate-") as tmp:
        tmp = Path(tmp)
        release = released(tmp)
        cases = {
            "stubs": variant(release, tmp / "stubs.ipynb", stubs=("MatMul", "Sigmoid", "Affine", "SGD")),
            # one wrong answer (SGD) and one endless loop (Sigmoid) in one notebook
            "wrong": variant(release, tmp / "wrong.ipynb", edits=[WRONG_SGD, ENDLESS_SIGMOID]),
            "reference": variant(release, tmp / "reference.ipynb"),
        }
        with ThreadPoolExecutor(2) as pool:
            out = dict(zip(cases, pool.map(validate, cases.values())))
    text, seconds = out["stubs"]
    problems.expect(failed_classes(text) == ["MatMul", "Sigmoid", "Affine", "SGD"]
                    and "MatMul.forward is not implemented yet" in text,
                    "Validate on the stubs does not fail naming all four classes:\n" + text[-2500:])
    text, seconds = out["wrong"]
    flat = " ".join(text.split())   # the report is wrapped for Validate's width
    problems.expect(failed_classes(text) == ["Sigmoid", "SGD"]
                    and "SGD.update left params[0] unchanged" in flat
                    and "must change the array itself (in place)" in flat,
                    "Validate on a rebinding SGD does not fail with the check's message:\n" + text[-2500:])
    problems.expect("Sigmoid.forward did not return within 2 s: an endless loop?" in text
                    and seconds < 60,   # without the limit: 30 s per cell, then a bare timeout
                    f"Validate on an endless Sigmoid ({seconds:.0f} s):\n" + text[-2500:])
    text, seconds = out["reference"]
    problems.expect("Success! Your notebook passes all the tests." in text
                    and not failed_classes(text),
                    "Validate on the reference does not succeed:\n" + text[-2500:])
    for name, (text, seconds) in out.items():
        said = ", ".join(failed_classes(text)) or ("Success" if "Success!" in text else "?")
        print(f"   {name:<9} {seconds:4.1f} s  fails: {said}")


@step("notebook: Run All on a half-done notebook shows every class's state in the summary")
def notebook_run_all(problems):
    import nbformat
    from nbclient import NotebookClient
    with tempfile.TemporaryDirectory(prefix="voice-runall-") as tmp:
        tmp = Path(tmp)
        path = variant(released(tmp), tmp / "half.ipynb", edits=[WRONG_SGD],
                       stubs=("Sigmoid", "Affine"))
        nb = nbformat.read(path, as_version=4)
        # JupyterLab's Run All stops at the first cell that raises: so does this.
        try:
            NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=False,
                           resources={"metadata": {"path": str(tmp)}}).execute()
        except Exception as exc:   # CellExecutionError: Run All would have stopped here
            problems.append(f"Run All stopped: {str(exc)[-1500:]}")
            return
    errors = [c.id for c in nb.cells if any(o.output_type == "error" for o in c.get("outputs", []))]
    problems.expect(not errors, f"cells raised during Run All: {errors}")
    summary = next(c for c in nb.cells if c.id == "summary")
    text = "".join(o.get("text", "") for o in summary.outputs)
    expected = ["MatMul   ✓ all 9 checks pass", "Sigmoid  ✗ forward not implemented yet",
                "Affine   ✗ forward not implemented yet", "SGD      ✗ 4 of 6 failed / 6개 중 4개 실패: params[0] unchanged (not updated in place)",
                "Next / 다음: fix SGD"]
    missing = [e for e in expected if e not in text]
    problems.expect(not missing, f"the summary lacks {missing}:\n{text}")
    stderr = [c.id for c in nb.cells for o in c.get("outputs", [])
              if o.output_type == "stream" and o.name == "stderr"]
    problems.expect(not stderr, f"cells wrote to stderr: {stderr}")
    print("   " + "\n   ".join(text.strip().splitlines()[:6]))
    trained = _output_text(nb, "train")
    problems.expect("cannot train yet" in trained and "not implemented yet" in trained
                    and any(c in trained for c in ("Sigmoid", "Affine")),
                    f"the training cell does not name the class to look at:\n{trained[-800:]}")


def _output_text(nb, cell_id):
    cell = next(c for c in nb.cells if c.id == cell_id)
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


@step("notebook: the training section trains the reference in the book's network (accuracy >= 0.9)")
def notebook_training(problems):
    import re
    import nbformat
    from nbclient import NotebookClient
    with tempfile.TemporaryDirectory(prefix="kata-train-") as tmp:
        tmp = Path(tmp)
        nb = nbformat.read(variant(released(tmp), tmp / "reference.ipynb"), as_version=4)
        clean = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False,
                       resources={"metadata": {"path": str(tmp)}}, env=clean).execute()
    text = _output_text(nb, "train")
    found = re.search(r"final accuracy: ([0-9.]+)", text)
    accuracy = float(found.group(1)) if found else None
    problems.expect(accuracy is not None and accuracy >= 0.9,
                    f"the reference trained to {accuracy} in the notebook:\n{text[-800:]}")
    print(f"   the notebook's training cell: final accuracy {accuracy}")
