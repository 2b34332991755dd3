"""Mode-specific sandbox tests run in the pass that has the mode, and are deselected
(not skipped) elsewhere: the selftest runs this folder once per sandbox mode.

    @pytest.mark.needs("bwrap")     only where the sandbox is bubblewrap
    @pytest.mark.needs("seccomp")   only where the seccomp filter exists (x86_64, aarch64)
    @pytest.mark.needs("root")      only as root (a uid that owns nothing is root's to give)
    @pytest.mark.needs("cgroup")    only where a memory and pids cgroup can be made
"""
import os

from grading.judge import remote
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
