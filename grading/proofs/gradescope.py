"""The Gradescope autograder zip, run in a temporary /autograder layout."""
import json
import os
import tempfile
import zipfile
from pathlib import Path

from grading.proofs import PY, _write, run, step


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
                                ("MatMul", "Sigmoid", "Affine", "SGD")
                                for t in data["tests"] if t.get("visibility") != "hidden"),
                            f"{label}: a test name does not start with its class")
