"""Memory and process counts for a whole sandbox: one cgroup per fork server.

RLIMIT_AS counts one process's address space; it misses tmpfs pages, SysV shared memory
and everything the page cache holds for it. A memory cgroup charges all of them to the
sandbox, whoever wrote them, and its OOM killer ends the child (the fork server's
oom_score_adj is lower) when the sandbox is over its limit. `pids.max` bounds tasks,
threads included, even for root, where RLIMIT_NPROC does not hold.

Where: cgroup v2 when the unified hierarchy has the memory and pids controllers and we may
write it; else the v1 memory and pids hierarchies; else none (`MODE` says which). The
judge (outside the sandbox) creates the group, starts the fork server in it, and removes
it when the server stops; `sweep()` removes groups whose owner process died.
"""
import os
import signal
import time

V2_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")
V1_ROOT = "/sys/fs/cgroup"
PREFIX = "kata-sandbox-"
_mode = None           # decided once per process: "v2", "v1" or "none"
_why_none = ""
_counter = 0


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _v2_root():
    for root in V2_ROOTS:
        controllers = _read(os.path.join(root, "cgroup.subtree_control")).split()
        if {"memory", "pids"} <= set(controllers) and os.access(root, os.W_OK):
            return root
    return None


def _v1_roots():
    roots = {c: os.path.join(V1_ROOT, c) for c in ("memory", "pids")}
    if all(os.path.isfile(os.path.join(r, "cgroup.procs")) and os.access(r, os.W_OK)
           for r in roots.values()):
        return roots
    return None


def mode():
    """"v2", "v1" or "none", decided once (the first call probes by creating a group)."""
    global _mode, _why_none
    if _mode is None:
        _mode, _why_none = "none", "no writable memory and pids cgroup controllers"
        for candidate in ("v2", "v1"):
            try:
                group = Group(64 << 20, 8, _mode=candidate)
            except OSError as exc:
                _why_none = f"{candidate}: {exc.strerror or exc}"
                continue
            group.remove()
            _mode = candidate
            break
    return _mode


def why_none():
    return _why_none


class Group:
    """One sandbox's cgroup(s) (a fork server's, or a notebook kernel's box): memory limit
    and task limit; `join_self`, `kill_all`, `remove`."""

    def __init__(self, memory_bytes, tasks, _mode=None, prefix=PREFIX):
        global _counter
        self.mode = _mode or mode()
        _counter += 1
        name = f"{prefix}{os.getpid()}-{_counter}"
        if self.mode == "v2":
            root = _v2_root()
            if root is None:
                raise OSError(0, "the unified hierarchy has no memory and pids controllers")
            self.dirs = [os.path.join(root, name)]
            limits = {"memory.max": memory_bytes, "memory.swap.max": 0, "pids.max": tasks}
        elif self.mode == "v1":
            roots = _v1_roots()
            if roots is None:
                raise OSError(0, "the v1 memory and pids hierarchies are not writable")
            self.dirs = [os.path.join(roots["memory"], name), os.path.join(roots["pids"], name)]
            limits = {"memory.limit_in_bytes": memory_bytes,
                      "memory.memsw.limit_in_bytes": memory_bytes, "pids.max": tasks}
        else:
            self.dirs = []
            return
        made = []
        try:
            for d in self.dirs:
                os.mkdir(d)
                made.append(d)
            for key, value in limits.items():
                path = next((os.path.join(d, key) for d in self.dirs
                             if os.path.exists(os.path.join(d, key))), None)
                if path is not None:
                    with open(path, "w") as f:
                        f.write(str(value))
        except OSError:
            for d in made:
                os.rmdir(d)
            raise

    def join_self(self):
        """Move the calling process in (a Popen preexec_fn: before the server starts)."""
        for d in self.dirs:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def procs_files(self):
        """The groups' cgroup.procs: a process writes its pid there to join (before it execs)."""
        return [os.path.join(d, "cgroup.procs") for d in self.dirs]

    def pids(self):
        return {int(p) for d in self.dirs for p in _read(os.path.join(d, "cgroup.procs")).split()}

    def memory_peak(self):
        """Bytes: the most the sandbox held at once (0 where not known)."""
        for d in self.dirs:
            for key in ("memory.max_usage_in_bytes", "memory.peak"):
                text = _read(os.path.join(d, key)).strip()
                if text.isdigit():
                    return int(text)
        return 0

    def kill_all(self, seconds=5.0):
        """SIGKILL every task in the group until none is left (or `seconds` pass)."""
        deadline = time.monotonic() + seconds
        while self.dirs:
            if self.mode == "v2" and os.path.exists(os.path.join(self.dirs[0], "cgroup.kill")):
                with open(os.path.join(self.dirs[0], "cgroup.kill"), "w") as f:
                    f.write("1")
            pids = self.pids()
            if not pids or time.monotonic() > deadline:
                return not pids
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.005)
        return True

    def remove(self):
        """Kill what is left and remove the group(s); True when nothing remains."""
        self.kill_all()
        gone = True
        for d in self.dirs:
            for _ in range(200):      # a killed task leaves the group a moment later
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)
            gone = gone and not os.path.exists(d)
        self.dirs = [d for d in self.dirs if os.path.exists(d)]
        return gone


def leftovers(prefix=PREFIX):
    """Paths of every kata cgroup named `prefix`... on the machine (for the selftest's checks)."""
    found = []
    for root in V2_ROOTS + (os.path.join(V1_ROOT, "memory"), os.path.join(V1_ROOT, "pids")):
        try:
            found += [os.path.join(root, n) for n in os.listdir(root) if n.startswith(prefix)]
        except OSError:
            pass
    return found


def sweep():
    """Remove the groups of grading processes that died without removing theirs."""
    for path in leftovers():
        owner = os.path.basename(path)[len(PREFIX):].split("-")[0]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            group = Group.__new__(Group)
            group.mode, group.dirs = ("v1" if "/memory/" in path or "/pids/" in path else "v2"), [path]
            group.remove()
