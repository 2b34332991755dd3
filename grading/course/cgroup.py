"""The kernel's cgroup: memory and process count bounded, and everything in it killed at the end.

cgroup v1 memory + pids where those hierarchies are writable (this machine), else cgroup v2
with both controllers. jail.py's launcher moves itself into the cgroup before it becomes
bubblewrap, so every process of the kernel's box is in it.
"""
import os
import time
import uuid

MEMORY = 3 << 29            # bytes for the whole kernel (every process in its cgroup)
PIDS = 64                   # processes and threads in the cgroup
ROOT = "/sys/fs/cgroup"


class Cgroup:
    """One kernel's cgroup(s): v1 memory + pids where writable, else v2 with both."""

    def __init__(self, name=None):
        self.name = name or f"kata-kernel-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dirs = []

    @staticmethod
    def _v2_root():
        for root in (ROOT, f"{ROOT}/unified"):
            try:
                with open(f"{root}/cgroup.controllers") as f:
                    if {"memory", "pids"} <= set(f.read().split()):
                        return root
            except OSError:
                continue
        return None

    def create(self, memory=MEMORY, pids=PIDS):
        """Make the cgroup(s) and set the limits; False when none can be made."""
        v1 = [(f"{ROOT}/memory", {"memory.limit_in_bytes": memory,
                                        "memory.memsw.limit_in_bytes": memory}),
              (f"{ROOT}/pids", {"pids.max": pids})]
        v2 = self._v2_root()
        plans = [(f"{v2}", {"memory.max": memory, "memory.swap.max": 0, "pids.max": pids})] \
            if v2 else [p for p in v1 if os.access(p[0], os.W_OK)]
        for parent, limits in plans:
            path = f"{parent}/{self.name}"
            try:
                os.mkdir(path)
            except OSError:
                continue
            self.dirs.append(path)
            for key, value in limits.items():
                try:
                    with open(f"{path}/{key}", "w") as f:
                        f.write(str(value))
                except OSError:
                    pass        # memsw / swap accounting off: the memory limit still holds
        return bool(self.dirs)

    def procs_files(self):
        return [f"{d}/cgroup.procs" for d in self.dirs]

    def pids(self):
        found = set()
        for path in self.procs_files():
            try:
                with open(path) as f:
                    found |= {int(x) for x in f.read().split()}
            except OSError:
                pass
        return found

    def kill_all(self):
        """SIGKILL everything in the cgroup, until it is empty (a fork races the kill)."""
        for d in self.dirs:
            try:
                with open(f"{d}/cgroup.kill", "w") as f:     # v2, Linux >= 5.14
                    f.write("1")
            except OSError:
                pass
        for _ in range(100):
            left = self.pids()
            if not left:
                return True
            for pid in left:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            time.sleep(0.02)
        return not self.pids()

    def remove(self):
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                            time.sleep(0.02)
        self.dirs = [d for d in self.dirs if os.path.isdir(d)]
        return not self.dirs


def leftover_cgroups():
    """Kernel cgroups still on the machine (the selftest expects none of ours)."""
    found = []
    for parent in (f"{ROOT}/memory", f"{ROOT}/pids", ROOT, f"{ROOT}/unified"):
        try:
            found += [f"{parent}/{n}" for n in os.listdir(parent) if n.startswith("kata-kernel-")]
        except OSError:
            pass
    return found
