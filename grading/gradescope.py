"""Build the Gradescope autograder zip: `python -m grading.gradescope build OUT.zip`.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once per image, then
run_autograder per submission with the student's files in /autograder/submission; our
results.json must end up in /autograder/results/. Only the grader goes in: never
solutions/ or the catalogue.
"""
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the grader needs at run time, and nothing a student could learn answers from
# beyond the hidden suites themselves (which Gradescope keeps from students).
PACKAGES = ("grading/__init__.py", "grading/__main__.py", "grading/cli.py", "grading/grader.py",
            "grading/submissions.py", "grading/rubric.toml", "grading/sandbox", "grading/judge")

SETUP_SH = """#!/usr/bin/env bash
# Runs once when Gradescope builds the autograder image.
set -euo pipefail
apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet "numpy>=1.26,<3" "pytest>=8,<10" "pytest-check>=2.3,<4"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Runs per submission. AUTOGRADER_ROOT lets a selftest play Gradescope in a temporary folder.
set -uo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
python="${KATA_PYTHON:-$root/venv/bin/python}"
mkdir -p "$root/results"
rm -f "$root/results/results.json"   # only this run's verdict may be read
out="$(mktemp -d)"
cd "$root/source"
# Without bubblewrap and without root the grader refuses (it says why on stderr).
"$python" -m grading grade "$root/submission" --out "$out" --jobs 1 --quiet 2> "$out/stderr.txt"
if [ -f "$out/submission/results.json" ]; then
  cp "$out/submission/results.json" "$root/results/results.json"
else
  "$python" -c 'import json, sys
why = open(sys.argv[1], errors="replace").read()[-1500:]
print(json.dumps({"score": 0, "output": "The autograder could not grade this submission; "
                  "please tell your instructor.\\n" + why}))' "$out/stderr.txt" \\
    > "$root/results/results.json"
fi
"""


def build(target):
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16   # executable, as Gradescope requires
            z.writestr(info, text)
        for entry in PACKAGES:
            path = ROOT / entry
            files = [path] if path.is_file() else sorted(path.rglob("*"))
            for f in files:
                if f.is_file() and "__pycache__" not in f.parts:
                    z.write(f, f.relative_to(ROOT).as_posix())
    return target


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        sys.exit("usage: python -m grading.gradescope build OUT.zip")
    print(f"wrote {build(sys.argv[2])}: upload it as the Gradescope autograder")
