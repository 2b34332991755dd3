"""The Gradescope autograder zip, run in a temporary /autograder layout under every Python found.

setup.sh's own install steps make each Python's venv (KATA_SETUP_PYTHON=..., cached in
the selftest's cache (proofs/pythons.py) by the hash of setup.sh and requirements.txt); run_autograder then grades the
reference and the stubs with it. An interpreter older than the kata's oldest must make
setup.sh fail at once, with a message, and build nothing.
"""
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from grading.proofs import _write, run, step
from grading.proofs.pythons import cached, dotted, find_pythons, supported


def _unpack(tmp):
    from grading import gradescope
    root = Path(tmp, "autograder")
    archive = gradescope.build(Path(tmp, "autograder.zip"))
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        z.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)
    return root, names


def _setup(source, python, version):
    """The venv setup.sh builds with `python`, from the cache when setup.sh and
    requirements.txt are unchanged: (venv python, seconds or None, error)."""
    key = hashlib.sha256((source / "setup.sh").read_bytes()
                         + (source / "requirements.txt").read_bytes() + python.encode()).hexdigest()

    def build(folder):
        done = run(["bash", str(source / "setup.sh")],
                   env=dict(os.environ, AUTOGRADER_ROOT=str(folder), KATA_SETUP_PYTHON=python))
        if done.returncode != 0:
            return f"setup.sh exited {done.returncode}: {done.stderr[-1500:]}"
    folder, seconds, error = cached(f"gradescope-{dotted(version)}", key, build)
    return folder / "venv" / "bin" / "python", seconds, error


@step("gradescope: the autograder zip grades /autograder/submission under each Python found")
def gradescope_zip(problems):
    from grading import catalogue
    pythons = supported(find_pythons())
    print("   Pythons: " + ", ".join(f"{dotted(v)} ({p})" for v, p in pythons.items()))
    problems.expect((3, 10) in pythons and len(pythons) >= 2,
                    "fewer Pythons than expected here (3.10 and at least one newer)")
    with tempfile.TemporaryDirectory(prefix="kata-gradescope-") as tmp:
        root, names = _unpack(tmp)
        problems.expect(not any(n.startswith(("solutions/", "grading/catalogue", "grading/course"))
                                for n in names), "the autograder zip holds solutions or the catalogue")
        for version, python in pythons.items():
            venv_python, seconds, error = _setup(root / "source", python, version)
            if error:
                problems.append(f"Python {dotted(version)}: {error}")
                continue
            installed = "cached venv" if seconds is None else f"setup.sh installed in {seconds:.0f} s"
            if version == min(pythons):
                # The oldest also imports the instructor-side modules that need no extras
                # (a bare `import tomllib` there breaks Python 3.10).
                done = run([str(venv_python), "-c", "import grading.catalogue, grading.samples, grading.cli"])
                problems.expect(done.returncode == 0, f"Python {dotted(version)}: the catalogue does not "
                                f"import: {done.stderr[-800:]}")
            scores = []
            cases = [("reference", catalogue.reference_sources(), 100.0)]
            if version in (min(pythons), max(pythons)):     # the stubs at both ends suffice
                cases.append(("stubs", catalogue.stub_sources(), 0.0))
            for label, files, want in cases:
                shutil.rmtree(root / "submission", ignore_errors=True)
                shutil.rmtree(root / "results", ignore_errors=True)
                _write(root / "submission", files)
                done = run(["bash", str(root / "source" / "run_autograder")],
                           env=dict(os.environ, AUTOGRADER_ROOT=str(root), KATA_PYTHON=str(venv_python)))
                results = root / "results" / "results.json"
                if not results.exists():
                    problems.append(f"{dotted(version)} {label}: no results.json "
                                    f"({done.stdout[-500:]}{done.stderr[-1500:]})")
                    continue
                data = json.loads(results.read_text())
                scores.append(f"{label} {data['score']:g}")
                problems.expect(data["score"] == want, f"Python {dotted(version)}, {label}: score "
                                f"{data['score']}, expected {want}: {data.get('output', '')[:300]}")
                problems.expect(all(t["name"].split(".")[0].split(":")[0] in
                                    ("MatMul", "Sigmoid", "Affine", "SGD")
                                    for t in data.get("tests", ()) if t.get("visibility") != "hidden"),
                                f"{label}: a test name does not start with its class")
            print(f"   Python {dotted(version)}: {', '.join(scores)} ({installed})")


@step("gradescope: setup.sh refuses a Python older than 3.10 at setup time, with a message")
def gradescope_setup_refuses_old_python(problems):
    old = {v: p for v, p in find_pythons().items() if v < (3, 10)}
    with tempfile.TemporaryDirectory(prefix="kata-gradescope-old-") as tmp:
        root, _ = _unpack(tmp)
        # The newest old one found; with none installed, a stand-in that reports 3.9.
        if old:
            version, python = max(old.items())
        else:
            version, python = (3, 9), str(Path(tmp, "python3.9"))
            Path(python).write_text("#!/bin/sh\nexec python3 -c 'import sys; sys.exit(1)'\n")
            Path(python).chmod(0o755)
        done = run(["bash", str(root / "source" / "setup.sh")],
                   env=dict(os.environ, AUTOGRADER_ROOT=str(root), KATA_SETUP_PYTHON=python))
        print(f"   Python {dotted(version)}: exit {done.returncode}: {done.stderr.strip()[:300]}")
        problems.expect(done.returncode != 0, f"setup.sh accepted Python {dotted(version)}")
        problems.expect("needs Python >= 3.10" in done.stderr,
                        f"setup.sh's refusal does not say what it needs: {done.stderr[-500:]}")
        problems.expect(not (root / "venv").exists(), "setup.sh built a venv before refusing")
