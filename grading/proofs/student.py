"""The student's make interface, tried in the student kit unpacked into a fresh folder, as a new
student would: `make test` under the oldest and newest Python here, a .venv of the wrong Python,
a failed install, the rerun hint run as printed, `make submit`'s student id, IMPL=<a file>.
"""
import re
import shlex
import tempfile
import zipfile
from pathlib import Path

from grading.proofs import ROOT, run, step
from grading.proofs.pythons import dotted, find_pythons, supported
from grading.proofs.studentkit import (build_kit, clean_env, fresh_kit, kit_venv, make, old_python,
                                       ready_kit, write_impl)


def _mistake(name):
    from grading import catalogue
    mistakes, _ = catalogue.load_catalogue()
    return catalogue.variant_sources(next(m for m in mistakes if m.id == name))


def _ends(pythons):
    """The oldest and the newest supported Python found."""
    versions = sorted(pythons)
    return {v: pythons[v] for v in {versions[0], versions[-1]}}


@step("student kit: make test in a fresh folder under the oldest and newest Python (3.10, 3.13)")
def student_kit_make_test(problems):
    from grading import catalogue
    pythons = supported(find_pythons())
    ends = _ends(pythons)
    problems.expect({(3, 10), (3, 13)} <= set(ends), f"found {sorted(pythons)}: not 3.10 and 3.13")
    with tempfile.TemporaryDirectory(prefix="kata-kit-") as tmp:
        kit = build_kit()
        for version, python in sorted(ends.items()):
            venv, seconds, error = kit_venv(kit, version, python)
            if error:
                problems.append(f"Python {dotted(version)}: {error}")
                continue
            folder = fresh_kit(kit, tmp, venv)
            stubs = make(folder, "test")
            write_impl(folder / "exercises", catalogue.reference_sources())
            done = make(folder, "test")
            light = run([str(venv / "bin" / "python"), "-c", "import matplotlib"])
            installed = "cached .venv" if seconds is None else f"make install took {seconds:.0f} s"
            print(f"   Python {dotted(version)}: stubs exit {stubs.returncode}, "
                  f"finished exercises exit {done.returncode} ({installed})")
            problems.expect(stubs.returncode != 0 and "MatMul.forward" in stubs.stdout,
                            f"{dotted(version)}: make test on the stubs: {stubs.stdout[-800:]}{stubs.stderr[-500:]}")
            problems.expect(done.returncode == 0 and " passed" in done.stdout,
                            f"{dotted(version)}: make test on finished exercises: "
                            f"{done.stdout[-1500:]}{done.stderr[-800:]}")
            # make train (grading/proofs/training.py) adds matplotlib to the newest's .venv only.
            problems.expect(light.returncode != 0 or version != min(ends),
                            f"{dotted(version)}: make test installed matplotlib")


@step("student kit: a .venv of the wrong Python is refused with how to rebuild; a failed install leaves none")
def student_kit_wrong_python(problems):
    from grading import gradescope
    pythons = find_pythons()
    ends = _ends(supported(pythons))
    (oldest, py_old), (newest, py_new) = sorted(ends.items())
    # One oldest Python: the Makefile's MIN_PYTHON is pyproject's requires-python.
    declared = re.search(r"^MIN_PYTHON := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    problems.expect(declared and declared.group(1) == dotted(gradescope.MIN_PYTHON),
                    f"Makefile MIN_PYTHON {declared and declared.group(1)} is not pyproject.toml's "
                    f"requires-python {dotted(gradescope.MIN_PYTHON)}")
    with tempfile.TemporaryDirectory(prefix="kata-kit-venv-") as tmp:
        kit = build_kit()
        too_old, py_too_old = old_python(pythons, tmp)

        # 1. PYTHON too old: refused before anything is made.
        folder = fresh_kit(kit, tmp)
        done = make(folder, "test", f"PYTHON={py_too_old}")
        said = done.stdout + done.stderr
        print(f"   PYTHON={dotted(too_old)}: " + said.strip().splitlines()[0][:160])
        problems.expect(done.returncode != 0 and "Python >= 3.10" in said and "PYTHON=python3" in said,
                        f"make test PYTHON=<{dotted(too_old)}>: {said[-800:]}")
        problems.expect(not (folder / ".venv").exists(), f"make test PYTHON=<{dotted(too_old)}> left a .venv")

        # 2. A .venv someone made with a too old Python (complete-looking): refused, says rm -rf.
        if too_old in pythons:
            run([py_too_old, "-m", "venv", "--without-pip", str(folder / ".venv")])
            (folder / ".venv" / ".kata-base").touch()
            done = make(folder, "test")
            said = done.stdout + done.stderr
            print(f"   .venv of {dotted(too_old)}: " + said.strip().splitlines()[0][:160])
            problems.expect(done.returncode != 0 and "rm -rf .venv" in said and dotted(too_old) in said,
                            f"make test with a {dotted(too_old)} .venv: {said[-800:]}")

        # 3. A good .venv, but PYTHON= names another version: refused, says how to switch.
        venv, _, error = kit_venv(kit, oldest, py_old)
        if error:
            problems.append(error)
            return
        folder = fresh_kit(kit, tmp, venv)
        done = make(folder, "test", f"PYTHON={py_new}")
        said = done.stdout + done.stderr
        print(f"   .venv of {dotted(oldest)}, PYTHON={dotted(newest)}: " + said.strip().splitlines()[0][:160])
        problems.expect(done.returncode != 0 and "rm -rf .venv" in said
                        and f"make test PYTHON={py_new}" in said,
                        f"make test PYTHON=<{dotted(newest)}> with a {dotted(oldest)} .venv: {said[-800:]}")
        done = make(folder, "test", f"PYTHON={py_old}")
        problems.expect("rm -rf" not in done.stdout and "MatMul.forward" in done.stdout,
                        f"make test PYTHON=<the .venv's own>: {done.stdout[-800:]}")

        # 4. A venv that fails half-way, as Debian's python3 without python3-venv does (the venv
        # is there, pip is not): nothing is left that the next make test would reuse.
        debian = Path(tmp, "python3-without-ensurepip")
        debian.write_text(f"""#!/bin/sh
if [ "$1 $2" = "-m venv" ]; then
  "{py_old}" -m venv --without-pip "$3"
  echo "The virtual environment was not created successfully because ensurepip is not available." >&2
  exit 1
fi
exec "{py_old}" "$@"
""")
        debian.chmod(0o755)
        folder = fresh_kit(kit, tmp)
        done = make(folder, "test", f"PYTHON={debian}")
        said = done.stdout + done.stderr
        print(f"   venv without ensurepip: exit {done.returncode}, .venv left: {(folder / '.venv').exists()}")
        problems.expect(done.returncode != 0 and "python3-venv" in said, f"failed venv: {said[-800:]}")
        problems.expect(not (folder / ".venv").exists(),
                        "a failed make test PYTHON=... left a .venv that the next make test would reuse")


@step("student kit: the public suite's rerun hint runs as printed, without an active venv")
def student_kit_rerun_hint(problems):
    pythons = supported(find_pythons())
    version, python = min(pythons.items())
    with tempfile.TemporaryDirectory(prefix="kata-kit-hint-") as tmp:
        folder, _, error = ready_kit(tmp, version, python)
        if error:
            problems.append(error)
            return
        write_impl(folder / "exercises", _mistake("matmul_dx_no_transpose"))
        done = make(folder, "test")
        hint = re.search(r"rerun with\s+(.+?)\s*$", done.stdout, re.M)
        if not hint:
            problems.append("no 'rerun with' hint:\n" + done.stdout[-1500:])
            return
        command = hint.group(1)
        print(f"   hint: {command}")
        again = run(["bash", "-c", command], cwd=folder, env=clean_env())
        said = again.stdout + again.stderr
        problems.expect(again.returncode != 0 and "failed" in said and "No module named" not in said
                        and "not found" not in said, f"`{command}` as printed: exit {again.returncode}: {said[-800:]}")
        problems.expect("test_matmul.py" in said and "test_sigmoid.py" not in said,
                        f"`{command}` did not run MatMul's tests alone: {said[-800:]}")
        # The other ways to narrow a run: a file, pytest's own options (on a class).
        for args, want, unwanted in ((["FILE=tests/test_sgd.py"], "test_sgd.py", "test_matmul.py"),
                                     (["CLASS=matmul", "ARGS=-k forward"], "deselected", "test_sgd.py")):
            done = make(folder, "test", *args)
            problems.expect(done.returncode == 0 and want in done.stdout and unwanted not in done.stdout,
                            f"make test {shlex.join(args)}: exit {done.returncode}: {done.stdout[-800:]}")


@step("student kit: make submit names the zip after the student id given once; IMPL=<file> says give the folder")
def student_kit_submit(problems):
    from grading import catalogue
    version, python = min(supported(find_pythons()).items())
    with tempfile.TemporaryDirectory(prefix="kata-kit-submit-") as tmp:
        folder, _, error = ready_kit(tmp, version, python)
        if error:
            problems.append(error)
            return
        write_impl(folder / "exercises", catalogue.reference_sources())
        zips = lambda: sorted(p.name for p in folder.glob("submission-*.zip"))  # noqa: E731

        done = make(folder, "submit")
        print("   no id: " + done.stdout.strip().splitlines()[0][:160])
        problems.expect(done.returncode != 0 and "make submit STUDENT=" in done.stdout and not zips(),
                        f"make submit without an id: exit {done.returncode}, zips {zips()}: {done.stdout[-500:]}")
        done = make(folder, "submit", "STUDENT=kim-2024.07")
        problems.expect(zips() == ["submission-kim-2024.07.zip"],
                        f"make submit STUDENT=kim-2024.07 wrote {zips()}: {done.stdout[-500:]}")
        (folder / "submission-kim-2024.07.zip").unlink(missing_ok=True)
        done = make(folder, "submit")
        problems.expect(zips() == ["submission-kim-2024.07.zip"],
                        f"make submit after giving the id once wrote {zips()}: {done.stdout[-500:]}")
        if zips():
            with zipfile.ZipFile(folder / zips()[0]) as z:
                problems.expect(sorted(z.namelist()) == ["layers.py", "optimizer.py"],
                                f"the zip holds {z.namelist()}")
        done = make(folder, "submit", "STUDENT=../evil")
        problems.expect(done.returncode != 0 and not (folder.parent / "evil.zip").exists(),
                        "make submit STUDENT=../evil was accepted")

        for target in ("test", "submit"):
            done = make(folder, target, "IMPL=exercises/layers.py")
            print(f"   make {target} IMPL=exercises/layers.py: " + done.stdout.strip().splitlines()[0][:160])
            problems.expect(done.returncode != 0 and "give the folder" in done.stdout
                            and f"make {target} IMPL=exercises" in done.stdout,
                            f"make {target} IMPL=exercises/layers.py: {done.stdout[-500:]}")
