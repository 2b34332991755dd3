"""The public suite on small edits of the reference: the messages a student sees.

Each case runs `pytest tests` on a copy of solutions/ with one edit and asserts what the
output must say (and must not say): mutations named as mutations, an endless loop as a
timeout of that method, the in-place slips explained like the rebinding ones, partial
runs never reported as all passing, and no solution code in any message or text.
"""
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grading.proofs import PY, ROOT, run, step

SIGMOID_OUT = "        out = 1.0 / (1.0 + np.exp(-x))"
AFFINE_DB = "        db = dout.sum(axis=0)\n        self.grads[0][...] = dW\n        self.grads[1][...] = db"
MATMUL_DW = "        dW = self.x.T @ dout\n        self.grads[0][...] = dW\n        return dx\n        ### END SOLUTION\n\n\nclass Sigmoid"
# name: (file, find, replace, pytest args, [must say], [must not say])
CASES = {
    "grads scaled in place": (
        "optimizer.py", "            p -= self.lr * g", "            g *= self.lr\n            p -= g", [],
        ["SGD.update changed grads[0] in place", "SGD      ✗"], ["forgot the learning rate"]),
    "Sigmoid negates x in place": (
        "layers.py", SIGMOID_OUT, "        x *= -1\n        out = 1.0 / (1.0 + np.exp(x))", [],
        ["Sigmoid.forward modified its argument x", "Sigmoid.forward changed x in place"],
        ["values differ"]),
    "dout *= in backward": (
        "layers.py", "        return dout * y * (1.0 - y)", "        dout *= y * (1.0 - y)\n        return dout", [],
        ["Sigmoid.backward modified its argument dout", "FAILED tests/test_sigmoid.py::test_arguments_unchanged"], []),
    "endless loop": (
        "layers.py", SIGMOID_OUT, "        while True:\n            pass", [],
        ["Sigmoid.forward did not return within 2 s: an endless loop?", "Sigmoid  ✗",
         "SGD      ✓ all 6 checks pass"], []),
    "db over axis 1, in place": (
        "layers.py", AFFINE_DB, AFFINE_DB.replace("axis=0", "axis=1"), [],
        ["the value written into grads[1] (db) has shape (5,), but b has shape (4,)",
         "that sums over the features (axis 1)"], ["could not broadcast input array"]),
    "db over axis 1, rebinding": (
        "layers.py", AFFINE_DB, AFFINE_DB.replace("axis=0", "axis=1").replace("grads[1][...]", "grads[1]"), [],
        ["db has shape (5,), should be (4,)", "that sums over the features (axis 1)"], []),
    "dW = x @ dout, in place": (
        "layers.py", MATMUL_DW, MATMUL_DW.replace("self.x.T @ dout", "self.x @ dout"), [],
        ["MatMul.backward: an operation on arrays of mismatched shapes",
         "The shapes here: x (5, 3), W (3, 4), dout (5, 4)"], []),
    "interrupted (KeyboardInterrupt in Affine.backward)": (
        "layers.py", AFFINE_DB, "        raise KeyboardInterrupt", [],
        ["SGD      ✗ not run", "interrupted"], ["every public check passes"]),
    "Sigmoid params only set in forward": (
        "layers.py", "        self.params, self.grads = [], []\n", "", [],
        ["Sigmoid has no attribute params"], []),
    "reference, -k forward": ("layers.py", "", "", ["-k", "forward"], ["not run"], ["every public check passes"]),
    "reference, one file": ("layers.py", "", "", ["tests/test_matmul.py"],
                            ["MatMul   ✓ all 9 checks pass", "SGD      ✗ not run"], ["every public check passes"]),
}
# The solution's code never appears in what students read (README, "Hint policy").
FORBIDDEN = ["dout @ W.T", "x.T @ dout", ".T @ dout", "dout * y * (1", "sum(dout, axis=0)",
             "dout.sum(axis=0)", "-= self.lr * g", "-= lr * g"]


def _case(tmp, name, case):
    filename, find, replace, args, _, _ = case
    folder = Path(tmp, re.sub(r"\W+", "-", name))
    shutil.copytree(ROOT / "solutions", folder)
    path = folder / filename
    text = path.read_text(encoding="utf-8")
    if find:
        assert find in text, f"{name}: the edit does not apply"
        path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    started = time.monotonic()
    done = run([PY, "-m", "pytest", *(args or ["tests"]), "-q"],
               env=dict(os.environ, KATA_IMPL=str(folder)), timeout=120)
    return done.stdout + done.stderr, time.monotonic() - started


@step("public suite: mutations, timeouts, in-place slips and partial runs get the right message")
def public_messages(problems):
    with tempfile.TemporaryDirectory(prefix="voice-public-") as tmp:
        with ThreadPoolExecutor(2) as pool:
            outputs = dict(zip(CASES, pool.map(lambda item: _case(tmp, *item), CASES.items())))
    for name, (out, seconds) in outputs.items():
        _, _, _, _, must, must_not = CASES[name]
        missing = [m for m in must if m not in out]
        present = [m for m in must_not if m in out]
        problems.expect(not missing and not present,
                        f"{name}: missing {missing}, present {present}:\n{out[-2500:]}")
        if name == "endless loop":
            problems.expect(seconds < 60, f"the endless loop took {seconds:.0f} s")  # hangs without the limit
        said = [line for line in out.splitlines() if line.startswith(("Next:", "interrupted"))]
        print(f"   {name:<45} {seconds:4.1f} s  {(said or ['?'])[0][:70]}")
    leaks = [f"{name}: {code!r}" for name, (out, _) in outputs.items() for code in FORBIDDEN if code in out]
    problems.expect(not leaks, f"failure messages show solution code: {leaks}")


def _student_texts():
    """What students read besides the solution regions: the README's student section, the
    stubs, the tests, the notebook (all but solution cells and the hidden tests)."""
    import nbformat
    from grading.course import build_assignment as ba
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    students = readme.partition("## For students")[2].partition("\n## ")[0]
    texts = {"README.md, For students": students}
    for folder in ("exercises", "tests"):
        for path in sorted((ROOT / folder).glob("*.py")):
            texts[f"{folder}/{path.name}"] = path.read_text(encoding="utf-8")
    for cell in nbformat.read(ba.NOTEBOOK, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
            texts[f"notebook cell {cell.id}"] = source
    return texts


@step("hint policy: no solution code in the README, stubs, public tests or notebook text")
def hint_policy(problems):
    for where, text in _student_texts().items():
        found = [code for code in FORBIDDEN if code in text]
        problems.expect(not found, f"{where} shows solution code {found}")


def _classes(sources):
    """The classes a variant's layers.py and optimizer.py define (trusted catalogue code)."""
    import types
    found = {}
    for name in ("layers.py", "optimizer.py"):
        module = types.ModuleType(name[:-3])
        exec(compile(sources[name], name, "exec"), module.__dict__)
        found.update({k: v for k, v in vars(module).items() if isinstance(v, type)})
    return found


@step("public checks: every catalogued alternative passes; every catalogued mistake fails "
      "its own class only")
def public_catalogue(problems):
    import sys
    from grading import catalogue
    sys.path.insert(0, str(ROOT / "tests"))
    import kata_progress
    mistakes, alternatives = catalogue.load_catalogue()
    caught, missed = 0, []
    for entry in alternatives + mistakes:
        found = _classes(catalogue.variant_sources(entry))
        failing = {cls: [r for r in kata_progress.run_class(cls, found) if r[1] != "pass"]
                   for cls in kata_progress.ORDER}
        failing = {cls: results for cls, results in failing.items() if results}
        if entry.kind == "alternative":
            problems.expect(not failing, f"alternative {entry.id} fails public checks: "
                            f"{ {c: [r[0] for r in rs] for c, rs in failing.items()} }")
        else:
            problems.expect(set(failing) <= {entry.cls}, f"mistake {entry.id} fails public "
                            f"checks of other classes: {sorted(set(failing) - {entry.cls})}")
            caught += entry.cls in failing
            if entry.cls not in failing:   # allowed: the hidden suites are the stricter ones
                missed.append(entry.id)
    print(f"   {len(alternatives)} alternatives pass; {caught} of {len(mistakes)} mistakes caught "
          "by the public checks, each on its own class" + (f"; missed: {missed}" if missed else ""))
