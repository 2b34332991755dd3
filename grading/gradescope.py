"""Build the Gradescope autograder zip: `python -m grading.gradescope build OUT.zip`.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once per image, then
run_autograder per submission with the student's files in /autograder/submission; our
results.json must end up in /autograder/results/. Only the grader goes in: never
solutions/ or the catalogue.
"""
import sys
import zipfile
from pathlib import Path

try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
# What the grader needs at run time, and nothing a student could learn answers from
# beyond the hidden suites themselves (which Gradescope keeps from students).
PACKAGES = ("grading/__init__.py", "grading/__main__.py", "grading/cli.py", "grading/grader.py",
            "grading/notebooks.py", "grading/outputs.py", "grading/workers.py",
            "grading/submissions.py", "grading/rubric.toml", "grading/sandbox", "grading/judge",
            "network/__init__.py", "network/spiral.py")      # the plug-in tests' data



def _project():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


# The grader's oldest Python: pyproject.toml's requires-python (">=3.10" -> (3, 10)).
MIN_PYTHON = tuple(int(n) for n in _project()["requires-python"].removeprefix(">=").split("."))

SETUP_SH = """#!/usr/bin/env bash
# Runs once when Gradescope builds the autograder image: a venv with the grader's
# requirements (requirements.txt, generated from pyproject.toml). Fails here, loudly,
# rather than later in every submission's results. KATA_SETUP_PYTHON=<python> (no apt)
# and AUTOGRADER_ROOT=<folder> let the selftest run these same steps with each Python.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
source_dir="$(cd "$(dirname "$0")" && pwd)"
python="${KATA_SETUP_PYTHON:-python3}"
if [ -z "${KATA_SETUP_PYTHON:-}" ]; then
  apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv bubblewrap
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (@MIN@))' 2>/dev/null; then
  echo "ERROR: the backprop kata's grader needs Python >= @MIN_DOT@, but $python is" \
       "$("$python" -V 2>&1 || echo missing). Choose a newer base image in Gradescope's" \
       "autograder settings (Ubuntu 22.04 or later) and upload the zip again." >&2
  exit 1
fi
rm -rf "$root/venv"
"$python" -m venv "$root/venv"
"$root/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$source_dir/requirements.txt"
# Everything the grader imports, imported once now: a missing piece fails the build.
(cd "$source_dir" && "$root/venv/bin/python" -c "import grading.cli, grading.judge.engine") \
  || { echo "ERROR: the grader does not import with $("$python" -V 2>&1)" >&2; exit 1; }
echo "autograder ready: $("$root/venv/bin/python" -V 2>&1) in $root/venv"
""".replace("@MIN@", "%d, %d" % MIN_PYTHON).replace("@MIN_DOT@", "%d.%d" % MIN_PYTHON)

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


def requirements():
    """requirements.txt for setup.sh: the student's dependencies and the grader's extra,
    from pyproject.toml (the one list of versions)."""
    project = _project()
    lines = project["dependencies"] + project["optional-dependencies"]["grader"]
    return "# generated from pyproject.toml by grading/gradescope.py\n" + "\n".join(lines) + "\n"


def build(target):
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16   # executable, as Gradescope requires
            z.writestr(info, text)
        z.writestr("requirements.txt", requirements())
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
