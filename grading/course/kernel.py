"""RUNS STUDENT CODE: the notebook kernel nbgrader autograde talks to, inside the box.

`SandboxedExecute` is nbgrader's Execute preprocessor with `SandboxedKernelManager`, a
jupyter_client kernel manager whose kernel runs in grading/course/jail.py's box. nbgrader,
nbclient and jupyter_client talk to it as to any kernel, over ZeroMQ's IPC transport: the
connection file and the sockets live in a private folder (on /dev/shm, so its size counts
against the kernel's memory) that is bound into the box at the same path. TCP on loopback
would need the box to share our network namespace; IPC lets the box have none.

Nothing this kernel computes is trusted: its test cells' scores are claims, compared with
the trusted grader's in trusted.py.
"""
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Unicode

import grading
from grading.course import jail
from grading.sandbox import cgroup

GRADING_DIR = Path(grading.__file__).resolve().parent
REPO = GRADING_DIR.parent
SHIM = GRADING_DIR / "course" / "kernel_shim"
# The kernel's box as a whole (every process in its cgroup): memory and tasks, threads included.
KERNEL_MEMORY = 3 << 29            # 1.5 GiB
KERNEL_TASKS = 64
CGROUP_PREFIX = "kata-kernel-"
WALL_SECONDS = 600          # a whole notebook; each cell has nbgrader's own timeout too
# Folders of ours a bound tree might hold (a checkout inside the venv's tree, say).
HIDDEN = [REPO / "solutions", REPO / "grading", REPO / "tests", REPO / ".git", Path.home()]


class KernelRefused(RuntimeError):
    """No box here, and the instructor did not opt in to unsandboxed kernels."""


_locations = None


def grading_locations():
    """Where `import grading` leads: this package's folder, and where the kernel's own
    `python -I` would find it (an editable install may point elsewhere). The stand-in is
    mounted over each."""
    global _locations
    if _locations is None:
        import subprocess
        found = {str(GRADING_DIR)}
        try:
            done = subprocess.run([sys.executable, "-I", "-c", "import importlib.util as u; "
                                   "print(u.find_spec('grading').submodule_search_locations[0])"],
                                  capture_output=True, text=True, timeout=30, cwd="/")
            if done.returncode == 0 and done.stdout.strip():
                found.add(os.path.abspath(done.stdout.strip()))
        except (OSError, subprocess.TimeoutExpired):
            pass
        _locations = sorted(found)
    return _locations


def _socket_parent():
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else tempfile.gettempdir()


class SandboxedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs in the box, with IPC sockets."""

    verdicts = Unicode(None, allow_none=True,
                       help="JSON of the trusted verdicts the kernel-side shim hands out")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._box = tempfile.mkdtemp(prefix="kata-kernel-", dir=_socket_parent())
        self._drop_uid = os.getuid() == 0
        if self._drop_uid:
            os.chown(self._box, jail.NOBODY, jail.NOBODY)
        self.transport = "ipc"
        self.ip = os.path.join(self._box, "kernel")
        self.connection_file = os.path.join(self._box, "kernel.json")
        self._cgroup = None
        self._watchdog = None

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        problem = jail.problem()
        if problem:
            raise KernelRefused(jail.REFUSAL.format(why=problem))
        if os.path.basename(kernel_cmd[0]).startswith("python"):
            kernel_cmd = [os.path.abspath(sys.executable), *kernel_cmd[1:]]
        # Interrupts as messages: a SIGINT to the process group would reach bubblewrap
        # outside the box (and end the box), not the kernel inside.
        self.kernel_spec.interrupt_mode = "message"
        if self._drop_uid and os.path.exists(self.connection_file):
            os.chown(self.connection_file, jail.NOBODY, jail.NOBODY)
        try:
            self._cgroup = cgroup.Group(KERNEL_MEMORY, KERNEL_TASKS, prefix=CGROUP_PREFIX)
        except OSError:
            self._cgroup = cgroup.Group(0, 0, _mode="none")
        if not self._cgroup.dirs:
            self.log.warning("kernel box: no cgroup could be made here; memory and process "
                             "count are bounded by rlimits only")
        original = os.path.abspath(kw.get("cwd") or os.getcwd())
        inner = jail.bwrap_command(
            kernel_cmd, original=original, sockets=self._box, shim=str(SHIM),
            grading_dirs=grading_locations(), verdicts=self.verdicts,
            hidden=[str(p) for p in HIDDEN], drop_uid=self._drop_uid, bwrap=shutil.which("bwrap"),
            env=jail.kernel_env(os.path.dirname(sys.executable)))
        kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        kw["cwd"] = "/"
        self._watchdog = threading.Timer(WALL_SECONDS, self._cgroup.kill_all)
        self._watchdog.daemon = True
        self._watchdog.start()
        await super()._async_launch_kernel(jail.launcher_command(self._cgroup, inner), **kw)

    def _end_box(self):
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._cgroup is not None:
            self._cgroup.remove()
        shutil.rmtree(self._box, ignore_errors=True)

    async def _async_cleanup_resources(self, restart=False):
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if not restart:
                self._end_box()

    cleanup_resources = _async_cleanup_resources
    _launch_kernel = _async_launch_kernel

    def __del__(self):
        try:
            self._end_box()
        except Exception:       # noqa: BLE001 - interpreter shutdown
            pass


class SandboxedExecute(Execute):
    """nbgrader's Execute, with the kernel in the box. The trusted verdicts for the shim
    come from resources["kata"]["verdicts"] (set by trusted.TrustedGrade)."""

    def __init__(self, *args, **kwargs):
        if not jail.opted_out():
            kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)
        self._verdicts = None

    def preprocess(self, nb, resources=None, km=None):
        self._verdicts = ((resources or {}).get("kata") or {}).get("verdicts")
        if jail.opted_out():
            self.log.warning("KATA_KERNEL_SANDBOX=off: this notebook runs UNSANDBOXED, as you, "
                             "with every file you can read and write in its reach")
        try:
            return super().preprocess(nb, resources, km)
        finally:
            shutil.rmtree(((resources or {}).get("kata") or {}).get("cleanup") or "/nonexistent",
                          ignore_errors=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.verdicts = self._verdicts
        return km
