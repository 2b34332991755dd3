"""The Pythons this machine has, and a cache of the environments the selftest builds with them.

Not a proof module: the Gradescope and student-kit proofs use it to run the same steps under
every Python found (pyenv's versions, `python3.X` on PATH, the selftest's own), each with an
environment made by the kata's own install steps and kept outside the checkout (every clone
on the machine, CI's fresh one too, shares it), so that only the first selftest on a machine
pays for the installs. Each environment is keyed by the hash of its install files.
"""
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


# ~/.cache/backprop-kata unless KATA_CACHE (or XDG_CACHE_HOME) says otherwise.
CACHE = Path(os.environ.get("KATA_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "backprop-kata")
OLDEST, NEWEST = (3, 10), (3, 13)   # the versions the kata promises to run on


def _version(python):
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.split()
        return tuple(int(n) for n in out) if len(out) == 2 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def find_pythons():
    """{(3, 10): '/root/.pyenv/versions/3.10.13/bin/python', ...}: one interpreter per
    minor version, from pyenv ($PYENV_ROOT or ~/.pyenv), PATH and this process."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = sorted(glob.glob(str(pyenv / "versions" / "*" / "bin" / "python3")))
    candidates += [shutil.which(f"python3.{minor}") for minor in range(6, 20)]
    candidates += [shutil.which("python3"), sys.executable]
    found = {}
    for python in filter(None, candidates):
        version = _version(python)
        if version and version[0] == 3 and version not in found:
            found[version] = python
    return dict(sorted(found.items()))


def supported(pythons):
    return {v: p for v, p in pythons.items() if OLDEST <= v}


def dotted(version):
    return "%d.%d" % version


def cached(name, key, build):
    """CACHE/name, built by build(folder) unless an earlier run built it with the same key.
    Returns (folder, seconds the build took or None when cached, error or None)."""
    folder = CACHE / name
    stamp = folder / ".kata-cache-key"
    if stamp.is_file() and stamp.read_text() == key:
        return folder, None, None
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.monotonic()
    error = build(folder)
    seconds = time.monotonic() - started
    if error:
        shutil.rmtree(folder, ignore_errors=True)   # never reuse a half-built environment
        return folder, seconds, error
    stamp.write_text(key)
    return folder, seconds, None
