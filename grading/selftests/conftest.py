"""Mode-specific sandbox tests run in the pass that has the mode, and are deselected
(not skipped) elsewhere: the selftest runs this folder once per sandbox mode.

    @pytest.mark.needs("bwrap")     only where the sandbox is bubblewrap
    @pytest.mark.needs("seccomp")   only where the seccomp filter exists (x86_64, aarch64)
    @pytest.mark.needs("root")      only as root (a uid that owns nothing is root's to give)
    @pytest.mark.needs("cgroup")    only where a memory and pids cgroup can be made
"""
import os
import tempfile

import pytest

from grading.judge import remote
from grading.judge.remote import Sandbox
from grading.samples import write_hostile
from grading.sandbox import cgroup, limits


def _available():
    mode = os.environ.get("KATA_SANDBOX", "auto")
    bwrap = mode == "bwrap" or (mode == "auto" and remote.bwrap_available())
    return {"bwrap": bwrap, "seccomp": limits.seccomp_supported(), "root": os.geteuid() == 0,
            "cgroup": cgroup.mode() != "none"}


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(feature): run only where the feature is there")


def pytest_collection_modifyitems(config, items):
    available = _available()
    kept, deselected = [], []
    for item in items:
        needed = [m.args[0] for m in item.iter_markers("needs")]
        (kept if all(available[n] for n in needed) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


# --- fixtures the test files share -------------------------------------------------------

@pytest.fixture(scope="session")
def sample():
    """sample(name): the sources of a hostile sample, {"layers": text, "optimizer": text},
    written by the loader into a temporary folder. (tempfile, not tmp_path_factory:
    pyproject.toml turns pytest's tmpdir plugin off.)"""
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        def sources(name):
            written = write_hostile(name, folder)
            return {m: (written / f"{m}.py").read_text() for m in ("layers", "optimizer")}
        yield sources


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(timeout=2) as the_sandbox:
        yield the_sandbox


@pytest.fixture(scope="module")
def quick():
    """For tests that must hit the time limit."""
    with Sandbox(timeout=0.5) as the_sandbox:
        yield the_sandbox
