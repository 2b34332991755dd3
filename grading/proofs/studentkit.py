"""The student kit as a student gets it: built as `make release` builds it, unpacked into a fresh
folder, with a .venv the kit's own `make install` made (cached per Python, see proofs/pythons.py).

Not a proof module: grading/proofs/student.py and training.py use it.
"""
import hashlib
import os
import tempfile
import time
import zipfile
from pathlib import Path

from grading.proofs import ROOT, run
from grading.proofs.pythons import cached, dotted

# Variables a selftest started by `make selftest X=...` would pass on to every inner make.
_MAKE_LEAKS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VIRTUAL_ENV", "PYTHON",
               "STUDENT", "IMPL", "CLASS", "FILE", "ARGS", "KATA_IMPL", "PYTHONPATH")


def clean_env(**extra):
    """The environment of a student's fresh shell: no venv on PATH, nothing make passes down."""
    env = {k: v for k, v in os.environ.items() if k not in _MAKE_LEAKS}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not Path(p, "activate").exists())
    env.update(extra)
    return env


def make(folder, *args, timeout=600, **env):
    return run(["make", "--no-print-directory", *args], cwd=folder, env=clean_env(**env),
               timeout=timeout)


_BUILT = {}


def build_kit():
    """dist/student-kit.zip as grading/course builds it (the same function); built once per
    selftest process and shared by the steps (they only read it)."""
    if "kit" not in _BUILT:
        from grading.course import loop
        _BUILT["tmp"] = tempfile.TemporaryDirectory(prefix="kata-kit-zip-")   # removed at exit
        _BUILT["kit"] = loop.build_kit(Path(_BUILT["tmp"].name, "student-kit.zip"))
    return _BUILT["kit"]


def unpack(kit, dest):
    """Unzip as `unzip` does, keeping the entries' timestamps; returns the kit's folder."""
    with zipfile.ZipFile(kit) as z:
        for info in z.infolist():
            path = z.extract(info, dest)
            stamp = time.mktime(info.date_time + (0, 0, -1))
            os.utime(path, (stamp, stamp))
    tops = {n.split("/")[0] for n in zipfile.ZipFile(kit).namelist()}
    return Path(dest, tops.pop()) if len(tops) == 1 else Path(dest)


def kit_venv(kit, version, python):
    """A .venv the kit's `make install PYTHON=python` made, reused while the kit's Makefile and
    pyproject.toml stay the same: (venv folder, seconds the install took or None, error)."""
    with zipfile.ZipFile(kit) as z:
        key = hashlib.sha256(b"".join(z.read(n) for n in sorted(z.namelist())
                                      if n.endswith(("/Makefile", "/pyproject.toml")))
                             + python.encode()).hexdigest()

    def build(folder):
        done = make(unpack(kit, folder), "install", f"PYTHON={python}")
        if done.returncode != 0:
            return f"make install PYTHON={python} failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
    folder, seconds, error = cached(f"kit-{dotted(version)}", key, build)
    return (None if error else unpack_target(folder) / ".venv"), seconds, error


def unpack_target(folder):
    found = [p for p in Path(folder).iterdir() if p.is_dir()]
    return found[0] if len(found) == 1 else Path(folder)


def fresh_kit(kit, tmp, venv=None):
    """The kit unpacked into a new folder under tmp; with venv, .venv links to that one."""
    folder = unpack(kit, Path(tmp) / f"fresh-{time.monotonic_ns()}")
    if venv is not None:
        (folder / ".venv").symlink_to(venv, target_is_directory=True)
    return folder


def ready_kit(tmp, version, python):
    """The kit built and unpacked fresh under tmp, its .venv made by the kit's own `make install`
    with `python` (cached): (folder or None, seconds the install took or None, error or None)."""
    kit = build_kit()
    venv, seconds, error = kit_venv(kit, version, python)
    return (None if error else fresh_kit(kit, tmp, venv)), seconds, error


def write_impl(folder, sources):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def old_python(pythons, tmp):
    """(version, path) of the newest Python older than the kata's oldest; a stand-in that
    reports 3.9 when none is installed."""
    old = {v: p for v, p in pythons.items() if v < (3, 10)}
    if old:
        return max(old.items())
    fake = Path(tmp, "python3.9")
    fake.write_text("#!/bin/sh\necho 3.9; exit 1\n")
    fake.chmod(0o755)
    return (3, 9), str(fake)


__all__ = ["ROOT", "build_kit", "clean_env", "fresh_kit", "kit_venv", "make", "old_python",
           "unpack", "write_impl"]
