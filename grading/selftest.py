"""`make selftest`: everything that proves the kata, step by step, with a verdict at the end.

Each step prints PASS or FAIL with the reasons; the exit status is 1 if any step failed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
STEPS = []


def step(title):
    def register(func):
        STEPS.append((title, func))
        return func
    return register


def run(cmd, **kwargs):
    """A command's completed process, output captured; never raises on exit status."""
    kwargs.setdefault("cwd", ROOT)
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


class Problems(list):
    def expect(self, condition, message):
        if not condition:
            self.append(message)


@step("generated files match their sources (stubs, assignment notebook)")
def generated_files(problems):
    for module in ("grading.tools.gen_stubs", "grading.course.build_assignment"):
        done = run([PY, "-m", module, "--check"])
        problems.expect(done.returncode == 0, f"{module} --check: {done.stdout}{done.stderr}".strip())


@step("public suite: the reference passes, the stubs fail and say where to start")
def public_suite(problems):
    env = dict(os.environ, KATA_IMPL="solutions")
    done = run([PY, "-m", "pytest", "tests", "-q"], env=env)
    problems.expect(done.returncode == 0, "tests on solutions/ did not pass:\n" + done.stdout[-3000:])
    env["KATA_IMPL"] = "exercises"
    done = run([PY, "-m", "pytest", "tests", "-q"], env=env)
    problems.expect(done.returncode == 1, f"tests on the stubs exited {done.returncode}, expected 1")
    problems.expect("start with MatMul.forward" in done.stdout,
                    "the stubs' summary does not say where to start:\n" + done.stdout[-1500:])
    print("   " + "\n   ".join(done.stdout.strip().splitlines()[-6:]))


@step("sandbox: isolation, limits and tamper tests (pytest grading/selftests)")
def sandbox_tests(problems):
    modes = ["off"] + (["bwrap"] if _bwrap_works() else [])
    if "bwrap" not in modes:
        print("   bubblewrap cannot run here: only the process-limits fallback is tested")
    for mode in modes:
        done = run([PY, "-m", "pytest", "grading/selftests", "-q", "-p", "no:cacheprovider"],
                   env=dict(os.environ, KATA_SANDBOX=mode))
        last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"   KATA_SANDBOX={mode}: {last}")
        problems.expect(done.returncode == 0, f"sandbox tests with KATA_SANDBOX={mode}:\n"
                        + done.stdout[-3000:] + done.stderr[-1000:])


def _bwrap_works():
    from grading.judge import remote
    return remote.bwrap_available()



REFERENCE_COPIES = 200


def _write(folder, files):
    folder.mkdir(parents=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return path


def _notebook(cells):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
        for c in cells]})


def bad_inputs(tmp, reference, stubs):
    """Submissions with user mistakes, and what each must earn: {path: (scores, words)}.

    scores: {class: exact points} ("*" = all classes); words: text the results must show.
    """
    layers, optimizer = reference["layers.py"], reference["optimizer.py"]
    full = {"*": 25}
    cases = {}
    cases[_write(tmp / "syntax-error", {"layers.py": layers.replace("def forward(self, x):", "def forward(self, x)", 1),
                                        "optimizer.py": optimizer})] = (
        {"MatMul": 0, "Sigmoid": 0, "Affine": 0, "SGD": 25}, ["SyntaxError"])
    cases[_write(tmp / "only-layers", {"layers.py": layers})] = (
        {"MatMul": 25, "Sigmoid": 25, "Affine": 25, "SGD": 0}, ["optimizer.py is missing"])
    cases[_write(tmp / "latin1", {"layers.py": b"# caf\xe9 (saved as Latin-1)\n" + layers.encode(),
                                  "optimizer.py": optimizer})] = (
        {"MatMul": 0, "Sigmoid": 0, "Affine": 0, "SGD": 25}, ["UTF-8"])
    cases[_nested(tmp / "nested", layers, optimizer)] = (full, [])
    broken = tmp / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    cases[broken] = ({"*": 0}, ["not a readable zip"])
    cases[_zip(tmp / "zip-slip.zip", {"../../escaped.py": "print('escaped')", "/tmp/kata-absolute.py": "x = 1",
                                      "exercises/layers.py": layers, "exercises/optimizer.py": optimizer})] = (
        full, ["points outside the folder"])
    bad_nb = tmp / "invalid.ipynb"
    bad_nb.write_text("{ this is not json")
    cases[bad_nb] = ({"*": 0}, ["not a valid Jupyter notebook"])
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
    return cases


def _nested(folder, layers, optimizer):
    """A submission folder holding the files one level down, as an unzipped submit may."""
    _write(folder / "exercises", {"layers.py": layers, "optimizer.py": optimizer})
    return folder


@step("grader: catalogue, alternatives, reference x200, stubs, hostile and bad inputs via `python -m grading grade`")
def grader_verdicts(problems):
    from grading import catalogue
    mistakes, alternatives = catalogue.load_catalogue()
    problems.extend(catalogue.check_rubric())
    problems.extend(catalogue.check_entries(mistakes, alternatives, catalogue.suite_tests()))
    reference, stubs = catalogue.reference_sources(), catalogue.stub_sources()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = tmp / "subs"
        expected = {}   # submission name -> (scores, words, entry or None)
        paths = []
        for i in range(REFERENCE_COPIES):
            paths.append(_write(subs / f"reference-{i:03d}", reference))
            expected[paths[-1].name] = ({"*": 25}, [], None)
        paths.append(_write(subs / "stubs", stubs))
        expected["stubs"] = ({"*": 0}, ["not implemented yet"], None)
        for entry in mistakes + alternatives:
            paths.append(_write(subs / f"{entry.kind}-{entry.id}", catalogue.variant_sources(entry, reference)))
            expected[paths[-1].name] = (None, [], entry)
        # `make submit` packs the two files at the zip's top level under exercises/.
        paths.append(_zip(subs / "submission-student.zip",
                          {f"exercises/{k}": v for k, v in reference.items()}))
        expected["submission-student"] = ({"*": 25}, [], None)
        for path, (scores, words) in bad_inputs(tmp / "bad", reference, stubs).items():
            paths.append(path)
            expected[path.stem if path.suffix else path.name] = (scores, words, None)
        hostile = hostile_samples(tmp / "hostile")
        for path, (scores, words) in hostile.items():
            paths.append(path)
            expected[path.name] = (scores, words, None)
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
        rows = []
        for name, (scores, words, entry) in expected.items():
            path = out / name / "results.json"
            if not path.exists():
                problems.append(f"{name}: no results.json")
                continue
            results = json.loads(path.read_text())
            got = {c: v["score"] for c, v in results["kata"]["classes"].items()}
            failing = sorted(results["kata"].get("failing", []))
            text = results["output"] + "\n".join(t["output"] for t in results["tests"])
            problems.expect(all(t["output"].strip() and not t["output"].startswith("- failed")
                                for t in results["tests"] if t["status"] == "failed"),
                            f"{name}: a failed test has no message saying why")
            if entry is not None:
                found = catalogue._entry_problems(entry, got, failing, results["kata"]["seed"])
                problems.extend(found)
                if entry.kind == "mistake":
                    rows.append((entry.id, entry.cls, 100 - results["score"], failing, not found))
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
        print(f"   {REFERENCE_COPIES} reference copies (200 seeds), the stubs, {len(mistakes)} mistakes, "
              f"{len(alternatives)} correct alternatives, {len(hostile)} hostile samples and "
              f"{len(expected) - REFERENCE_COPIES - 2 - len(mistakes) - len(alternatives) - len(hostile)}"
              " bad inputs checked")
        print("   mistake                          class    lost  failing tests")
        for mid, cls, lost, failing, ok in rows:
            names = ", ".join(f.split(".", 1)[1].removeprefix("test_") for f in failing)
            print(f"   {mid:<32} {cls:<8} {lost:>4g}  {names}{'' if ok else '  <-- PROBLEM'}")


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


@step("gradescope: the autograder zip grades /autograder/submission in a Gradescope layout")
def gradescope_zip(problems):
    import shutil
    from grading import catalogue, gradescope
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "autograder")
        archive = gradescope.build(Path(tmp, "autograder.zip"))
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            z.extractall(root / "source")
        problems.expect(not any(n.startswith(("solutions/", "grading/catalogue", "grading/course"))
                                for n in names), "the autograder zip holds solutions or the catalogue")
        for name in ("setup.sh", "run_autograder"):
            (root / "source" / name).chmod(0o755)
        for label, files, want in (("reference", catalogue.reference_sources(), 100.0),
                                   ("stubs", catalogue.stub_sources(), 0.0)):
            shutil.rmtree(root / "submission", ignore_errors=True)
            shutil.rmtree(root / "results", ignore_errors=True)
            _write(root / "submission", files)
            done = run(["bash", str(root / "source" / "run_autograder")],
                       env=dict(os.environ, AUTOGRADER_ROOT=str(root), KATA_PYTHON=PY))
            results = root / "results" / "results.json"
            if not results.exists():
                problems.append(f"{label}: no results.json ({done.stdout[-500:]}{done.stderr[-1500:]})")
                continue
            data = json.loads(results.read_text())
            print(f"   {label}: score {data['score']:g}, {len(data['tests'])} tests")
            problems.expect(data["score"] == want, f"{label}: score {data['score']}, expected {want}")
            problems.expect(all(t["name"].split(".")[0].split(":")[0] in
                                ("MatMul", "Sigmoid", "Affine", "SGD") for t in data["tests"]),
                            f"{label}: a test name does not start with its class")


def _course_files():
    """What the nbgrader loop could leave in the repository: the course folder's files and
    the repository's top-level names (dist/, graded/, demo/ ...)."""
    course = ROOT / "grading" / "course"
    return ({p.relative_to(ROOT).as_posix() for p in course.rglob("*") if "__pycache__" not in p.parts}
            | {p.name for p in ROOT.iterdir()})


@step("nbgrader exchange loop: release, fetch, submit, collect, autograde, feedback, export (demo samples)")
def nbgrader_exchange_loop(problems):
    import csv
    import html
    from grading.course import loop, samples
    sample_list = samples.build_samples()
    before = _course_files()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = loop.exchange_loop(Path(tmp), sample_list, loop.Say(quiet=True))
        except loop.LoopError as exc:       # a failed nbgrader command, or a leak
            problems.append(str(exc))
            return
        # The leak scans passed inside the loop (a leak raises); scan again, and prove that
        # each scan finds what is planted in it.
        leaks, pages = loop.scan_feedback(result.course)
        problems.extend(leaks)
        problems.expect(len(pages) == len(sample_list), f"{len(pages)} feedback pages for "
                        f"{len(sample_list)} students")
        problems.extend(loop.scan_kit(result.kit))
        secret = loop.secret_lines()
        planted = [next(line for line, kind in secret.items() if kind == k)
                   for k in ("hidden test code", "solution code")]
        page = "<pre>" + "\n".join(f"<span>{html.escape(line)}</span>" for line in planted) + "</pre>"
        problems.expect(len(loop.scan_lines("planted", loop.html_lines(page), secret)) == 2,
                        "the feedback scan does not find planted hidden test and solution lines")
        bad_kit = Path(tmp, "bad-kit.zip")
        with zipfile.ZipFile(bad_kit, "w") as z:
            z.writestr(loop.KIT_PREFIX + "solutions/layers.py",
                       (ROOT / "solutions" / "layers.py").read_text())
        problems.expect(len(loop.scan_kit(bad_kit)) >= 3, "the kit scan lets solutions/ through")
        # Scores: as each sample expects, and nbgrader's equal to the grader's class by class
        # (except the sample that fakes nbgrader's verdicts from its kernel: MISMATCH).
        problems.extend(loop.check_samples(result, sample_list))
        rows = {r.student: r for r in result.rows}
        for s in sample_list:
            row = rows.get(s.student)
            if row is None or row.nbgrader is None or row.grader is None:
                continue
            differ = [c for c in row.nbgrader if abs(row.nbgrader[c] - row.grader[c]) > 1e-6]
            if s.grader is None:
                problems.expect(not differ, f"{s.student}: nbgrader and the grader differ in {differ}")
            else:
                problems.expect(differ and row.status.startswith("MISMATCH"),
                                f"{s.student}: the faked verdicts were not flagged ({row.status})")
            problems.expect(result.student_pages.get(s.student),
                            f"{s.student}: fetch_feedback brought no feedback page")
        endless = [p for s in sample_list if s.status == "timed out"
                   for p in result.student_pages.get(s.student, [])]
        problems.expect(all("an endless loop" in p.read_text() for p in endless),
                        "the endless loop's feedback does not say so")
        with open(result.export_csv, newline="") as f:
            exported = {row["student_id"] for row in csv.DictReader(f)}
        problems.expect(exported >= {s.student for s in sample_list},
                        f"nbgrader export lists {sorted(exported)}")
        print("   student    MatMul Sigmoid Affine SGD  grader  autograde  status")
        for s in sample_list:
            row = rows.get(s.student)
            if row is None or row.nbgrader is None:
                continue
            cells = " ".join(f"{row.nbgrader[c]:>{max(3, len(c))}g}" for c in row.nbgrader)
            seconds = result.autograde_seconds.get(s.student, float("nan"))
            print(f"   {s.student:<10} {cells} {row.grader_total or 0:>7g} {seconds:>8.1f} s  "
                  f"{row.status[:60]}")
        print("   phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items()))
    after = _course_files()
    problems.expect(after == before, f"the loop left files in the repository: {sorted(after ^ before)}")


def main():
    started = time.monotonic()
    failed = []
    only = sys.argv[1:]
    for title, func in STEPS:
        if only and not any(word in func.__name__ for word in only):
            continue
        print(f"== {title}", flush=True)
        t0 = time.monotonic()
        problems = Problems()
        try:
            func(problems)
        except Exception:
            problems.append("the step itself crashed:\n" + traceback.format_exc())
        verdict = "PASS" if not problems else "FAIL"
        print(f"   {verdict} ({time.monotonic() - t0:.1f} s)")
        for p in problems:
            print("   - " + str(p).replace("\n", "\n     "))
        if problems:
            failed.append(title)
    ran = len(STEPS) if not only else sum(any(w in f.__name__ for w in only) for _, f in STEPS)
    print(f"\n{ran} steps in {time.monotonic() - started:.0f} s"
          + ("" if not failed else "; failed:\n  " + "\n  ".join(failed)))
    # The closing line in the form CI reads: "N passed, N failed".
    print(f"selftest: {ran - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
