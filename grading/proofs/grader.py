"""`python -m grading grade` on the catalogue, the reference, the stubs, hostile samples and bad inputs."""
import csv
import json
import os
import re
import tempfile
import time
from pathlib import Path

from grading.notebooks import shown
from grading.judge.suites.diagnose import SOLUTION_CODE
from grading.proofs import PY, _notebook, _write, _zip, run, step
from grading.proofs.inputs import odd_inputs


# Each copy has its own name, so its own data seed; `python -m grading.catalogue` adds 200 more
# seeds in-process.
REFERENCE_COPIES = 60


def bad_inputs(tmp, reference, stubs):
    """Submissions with user mistakes, and what each must earn: {path: (scores, words[, status])}.

    scores: {class: exact points} ("*" = all classes); words: text the results must show;
    status: the words grades.csv must give it (default "graded").
    """
    layers, optimizer = reference["layers.py"], reference["optimizer.py"]
    full = {"*": 25}
    cases = {}
    cases[_write(tmp / "syntax-error", {"layers.py": layers.replace("def forward(self, x):", "def forward(self, x)", 1),
                                        "optimizer.py": optimizer})] = (
        {"MatMul": 0, "Sigmoid": 0, "Affine": 0, "SGD": 25}, ["SyntaxError"])
    cases[_write(tmp / "only-layers", {"layers.py": layers})] = (
        {"MatMul": 25, "Sigmoid": 25, "Affine": 25, "SGD": 0}, ["optimizer.py is missing"], "missing optimizer.py")
    cases[_write(tmp / "latin1", {"layers.py": b"# caf\xe9 (saved as Latin-1)\n" + layers.encode(),
                                  "optimizer.py": optimizer})] = (
        {"MatMul": 0, "Sigmoid": 0, "Affine": 0, "SGD": 25}, ["UTF-8"], "unreadable layers.py")
    cases[_nested(tmp / "nested", layers, optimizer)] = (full, [])
    broken = tmp / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    cases[broken] = ({"*": 0}, ["not a readable zip"], "not a zip")
    cases[_zip(tmp / "zip-slip.zip", {"../../escaped.py": "print('escaped')", "/tmp/kata-absolute.py": "x = 1",
                                      "exercises/layers.py": layers, "exercises/optimizer.py": optimizer})] = (
        full, ["points outside the folder"])
    bad_nb = tmp / "invalid.ipynb"
    bad_nb.write_text("{ this is not json")
    cases[bad_nb] = ({"*": 0}, ["not a valid Jupyter notebook"], "invalid notebook")
    magic_nb = tmp / "magics.ipynb"
    magic_nb.write_text(_notebook(["%matplotlib inline\nimport numpy as np\n!pip install nothing",
                                   "%%time\nraise SystemExit('a cell magic cell is skipped')",
                                   layers, "np.sum?", optimizer]))
    cases[magic_nb] = (full, [])
    # Student files that try to steer the judge: a conftest, a pytest.ini, fake results.
    faker = ("import json, os, sys\n"
             "print(json.dumps({'score': 100, 'tests': []}))\n"
             "for target in ('results.json', '../results.json', '/autograder/results/results.json'):\n"
             "    try:\n"
             "        os.makedirs(os.path.dirname(target) or '.', exist_ok=True)\n"
             "        open(target, 'w').write('{\"score\": 100}')\n"
             "    except OSError:\n"
             "        pass\n")
    cases[_write(tmp / "steers-judge", {
        "layers.py": faker + stubs["layers.py"], "optimizer.py": stubs["optimizer.py"],
        "conftest.py": "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
                       "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n",
        "pytest.ini": "[pytest]\naddopts = -p no:pytest_check\n"})] = ({"*": 0}, [])
    cases.update(odd_inputs(tmp / "odd", reference))
    return cases


def _nested(folder, layers, optimizer):
    """A submission folder holding the files one level down, as an unzipped submit may."""
    _write(folder / "exercises", {"layers.py": layers, "optimizer.py": optimizer})
    return folder


@step("grader: catalogue, alternatives, reference copies, stubs, hostile and bad inputs via `python -m grading grade`")
def grader_verdicts(problems):
    from grading import catalogue
    mistakes, alternatives = catalogue.load_catalogue()
    problems.extend(catalogue.check_rubric())
    problems.extend(catalogue.check_entries(mistakes, alternatives, catalogue.suite_tests()))
    reference, stubs = catalogue.reference_sources(), catalogue.stub_sources()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = tmp / "subs"
        expected = {}   # source path -> (scores, words, entry or None, status)
        paths = []
        for i in range(REFERENCE_COPIES):
            paths.append(_write(subs / f"reference-{i:03d}", reference))
            expected[paths[-1]] = ({"*": 25}, [], None, "graded")
        paths.append(_write(subs / "stubs", stubs))
        expected[paths[-1]] = ({"*": 0}, ["not implemented yet"], None, "graded")
        for entry in mistakes + alternatives:
            paths.append(_write(subs / f"{entry.kind}-{entry.id}", catalogue.variant_sources(entry, reference)))
            expected[paths[-1]] = (None, [], entry, "graded")
        for sample in catalogue.load_samples():   # code without the maths: exact scores
            paths.append(_write(subs / f"sample-{sample.id}", sample.sources))
            expected[paths[-1]] = (sample.scores, [], None, "graded")
        # `make submit` packs the two files at the zip's top level under exercises/.
        paths.append(_zip(subs / "submission-student.zip",
                          {f"exercises/{k}": v for k, v in reference.items()}))
        expected[paths[-1]] = ({"*": 25}, [], None, "graded")
        for path, (scores, words, *status) in bad_inputs(tmp / "bad", reference, stubs).items():
            paths.append(path)
            expected[path] = (scores, words, None, status[0] if status else "graded")
        hostile = hostile_samples(tmp / "hostile")
        for path, (scores, words) in hostile.items():
            paths.append(path)
            expected[path] = (scores, words, None, None)
        out = tmp / "out"
        t0 = time.monotonic()
        # Colour requests as a Jupyter kernel's environment may carry them: the feedback
        # must come out the same.
        done = run([PY, "-m", "grading", "grade", *map(str, paths), "--out", str(out), "--quiet",
                    "--timeout", "3"], cwd=tmp, env=dict(os.environ, FORCE_COLOR="1", PY_COLORS="1"))
        seconds = time.monotonic() - t0
        print(f"   {len(paths)} submissions graded in {seconds:.1f} s "
              f"({len(paths) / seconds:.1f} per second), exit {done.returncode}")
        problems.expect(done.returncode == 0, "grade exited " + str(done.returncode) + done.stderr[-2000:])
        problems.expect(not (tmp / "escaped.py").exists() and not Path("/tmp/kata-absolute.py").exists(),
                        "a zip entry was written outside its folder")
        table = out / "grades.csv"
        by_source = {row["source"]: row for row in csv.DictReader(
            table.read_text(encoding="utf-8").splitlines())} if table.is_file() else {}
        problems.expect(len(by_source) == len(paths), f"grades.csv has {len(by_source)} rows for "
                        f"{len(paths)} submissions")
        rows, totals = [], {}
        for source, (scores, words, entry, status) in expected.items():
            name = shown(source.name)
            row = by_source.get(shown(source), {})
            path = out / row.get("submission", "?") / "results.json"
            if not path.is_file():
                problems.append(f"{name}: no results.json")
                continue
            if status is not None:
                problems.expect(row["status"] == status, f"{name}: status {row['status']!r} in "
                                f"grades.csv, expected {status!r}")
            results = json.loads(path.read_text())
            got = {c: v["score"] for c, v in results["kata"]["classes"].items()}
            failing = sorted(results["kata"].get("failing", []))
            text = results["output"] + "\n".join(t["output"] for t in results["tests"])
            problems.extend(_visibility_problems(name, results, tmp))
            leaked = _solution_code(results)   # the hint policy
            problems.expect(not leaked, f"{name}: the feedback shows solution code {leaked}")
            if entry is not None:
                found = catalogue._entry_problems(entry, got, failing, results["kata"]["seed"])
                problems.extend(found)
                if entry.kind == "mistake":
                    rows.append((entry.id, entry.cls, 100 - results["score"], failing, not found))
                    totals[entry.id] = results["score"]
                continue
            for cls in ("MatMul", "Sigmoid", "Affine", "SGD"):
                want = scores.get(cls, scores.get("*"))
                if want is not None and got.get(cls) != want:
                    problems.append(f"{name}: {cls} scored {got.get(cls)}, expected {want}"
                                    + _first_failure(results, cls))
            for word in words:
                problems.expect(word in text, f"{name}: the results do not mention {word!r}:\n{text[:800]}")
            problems.expect("Traceback" not in text and "/grading/" not in text,
                            f"{name}: the feedback shows grader internals:\n{text[:800]}")
        problems.extend(catalogue.ordering_problems(mistakes, totals))
        samples = len(catalogue.load_samples())
        print(f"   {REFERENCE_COPIES} reference copies ({REFERENCE_COPIES} seeds), the stubs, {len(mistakes)} mistakes, "
              f"{len(alternatives)} correct alternatives, {len(hostile)} hostile samples and "
              f"{len(expected) - REFERENCE_COPIES - 2 - samples - len(mistakes) - len(alternatives) - len(hostile)}"
              f" bad inputs and {samples} samples without the maths checked")
        print("   mistake                          class    lost  failing tests")
        for mid, cls, lost, failing, ok in rows:
            names = ", ".join(f.split(".", 1)[1].removeprefix("test_") for f in failing)
            print(f"   {mid:<32} {cls:<8} {lost:>4g}  {names}{'' if ok else '  <-- PROBLEM'}")


def _visibility_problems(name, results, tmp):
    """Issue 9 item 11: students see pass/fail and points on every test, and no data seed,
    isolation mode or grader path; the instructor finds them in a hidden test."""
    found = []
    visible = [t for t in results["tests"] if t.get("visibility", "visible") != "hidden"]
    shown_text = results["output"] + "\n".join(t["output"] for t in visible)
    for word in ("data seed", "isolation", "--seed", str(tmp)):
        if word in shown_text:
            found.append(f"{name}: students can read {word!r}:\n{shown_text[:600]}")
    for t in visible:
        verdict = "PASS" if t["status"] == "passed" else "FAIL"
        head = f"{verdict} {t['score']:g}/{t['max_score']:g}"
        if not t["output"].startswith(head):
            found.append(f"{name}: test {t['name']!r} does not start with {head!r}: {t['output'][:200]!r}")
        elif verdict == "FAIL" and len(t["output"].strip()) <= len(head) + 1:
            found.append(f"{name}: test {t['name']!r} failed without saying why")
    hidden = [t for t in results["tests"] if t.get("visibility") == "hidden"]
    if not any("source: " in t["output"] for t in hidden):
        found.append(f"{name}: no hidden test tells the instructor the source path")
    if "seed" in results["kata"] and not any("data seed" in t["output"] for t in hidden):
        found.append(f"{name}: no hidden test tells the instructor the data seed")
    return found


# Where an error names the student's own line: "(layers.py line 9, in backward: <code>)".
_QUOTED_CODE = re.compile(r"\((?:\w+\.py|cell \d+) line \d+, in \w+: .*?\)(?=;|$|\s)", re.M)


def _solution_code(results):
    """Solution code the judge's messages show (the student's quoted lines left out)."""
    text = _QUOTED_CODE.sub("", "\n".join(t["output"] for t in results["tests"]))
    return [code for code in SOLUTION_CODE if code in text]


def _first_failure(results, cls):
    for t in results["tests"]:
        if t["name"].startswith(cls) and t["status"] == "failed":
            return f" (first failure: {t['name']}: {t['output'][:300]})"
    return ""


def hostile_samples(folder):
    """The hostile samples (grading/samples/hostile.toml), written below `folder`, and what
    each may earn: {path: (scores, words)}."""
    from grading.samples import write_all
    from grading.sandbox.limits import seccomp_supported
    samples = write_all(folder)
    if not seccomp_supported():
        # Without the seccomp filter a fork bomb is a real one: not on a shared machine.
        print("   no seccomp filter on this architecture: the fork_bomb sample is left out")
        samples = {p: spec for p, spec in samples.items() if p.name != "fork_bomb"}
    return samples
