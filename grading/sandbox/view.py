"""What the sandbox sees: the bubblewrap command of the fork server (judge side).

Least privilege: the Python runtime (interpreter, standard library, the shared libraries
this process has mapped), numpy, and the sandbox package, all read-only; a root that is
read-only too. Not /usr whole (nbgrader's exchange lives in /usr/local/share), nothing of
a home folder but the runtime itself where Python lives in one (pyenv), no /etc beyond the
loader's cache.

The uid: as root, the server runs in a user namespace that maps only 0 and 65534 (both to
themselves): the server is uid 0 in it, with just the capabilities it needs to give each
child fresh namespaces and to end it (SETUID, SETGID, SYS_ADMIN, KILL, in that namespace
only), and each child then drops to 65534 (nobody), a uid that owns nothing outside. Without root, the user namespace maps our own uid, so a child runs as
the grading user outside, with the read-only view above as its only reach.
"""
import ctypes
import functools
import os
import sys
from pathlib import Path

import numpy as np

SANDBOX_DIR = Path(__file__).resolve().parent
GRADING_DIR = SANDBOX_DIR.parent
NOBODY = 65534
LOADERS = ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1",
           "/lib/ld-linux-armhf.so.3", "/lib/ld-linux.so.2")
_libc = ctypes.CDLL(None, use_errno=True)


def interpreter():
    """The real Python executable (a venv's python is a symlink to it)."""
    return os.path.realpath(sys.executable)


def numpy_dirs():
    """numpy's package and its wheel's bundled libraries (numpy.libs), if any."""
    package = Path(np.__file__).resolve().parent
    return [str(p) for p in (package, package.parent / "numpy.libs") if p.is_dir()]


def _mapped_files():
    """Files mapped into this process: the shared libraries Python and numpy need."""
    found = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/"):
                found.add(parts[5].strip().removesuffix(" (deleted)"))
    return found


def _covered(path, dirs):
    return any(path == d or path.startswith(d + "/") for d in dirs)


@functools.cache
def runtime_dirs():
    """Directories to bind read-only: stdlib, the libraries' folders, numpy."""
    import ctypes.util  # noqa: F401  (loads libffi's folder, as the server will)
    # The standard library (os.py's folder; lib-dynload is in it or among the mapped).
    dirs = {os.path.dirname(os.__file__)}
    for path in _mapped_files():
        if ".so" in os.path.basename(path) and "site-packages" not in path \
                and "dist-packages" not in path:
            dirs.add(os.path.dirname(path))
    dirs = {os.path.realpath(d) for d in dirs if d and os.path.isdir(d)}
    dirs |= set(numpy_dirs())
    outer = sorted(d for d in dirs if not _covered(d, dirs - {d}))
    # Our own files are never bound (if the grader was installed next to numpy).
    return [d for d in outer if not _covered(str(GRADING_DIR), [d])]


def _symlink_chain(path, binds, out, seen):
    """bwrap args recreating the symlinks on the way to `path`; returns its real path."""
    parts, current = Path(path).parts[1:], "/"
    for i, part in enumerate(parts):
        candidate = os.path.join(current, part)
        if os.path.islink(candidate):
            target = os.readlink(candidate)
            if candidate not in seen and not _covered(os.path.dirname(candidate), binds):
                seen.add(candidate)
                out += ["--symlink", target, candidate]
            resolved = os.path.normpath(os.path.join(os.path.dirname(candidate), target))
            return _symlink_chain(os.path.join(resolved, *parts[i + 1:]), binds, out, seen)
        current = candidate
    return current


def view_args():
    """bwrap arguments for the read-only runtime view."""
    binds, files = runtime_dirs(), [interpreter(), "/etc/ld.so.cache"]
    links, seen = [], set()
    for loader in LOADERS:
        if os.path.exists(loader):
            files.append(_symlink_chain(loader, binds, links, seen))
    for top in ("/lib", "/lib64", "/bin"):      # merged-/usr links the loader cache uses
        if os.path.islink(top) and top not in seen:
            seen.add(top)
            links += ["--symlink", os.readlink(top), top]
    files = [f for f in files if os.path.exists(f) and not _covered(f, binds)]
    # The folders on the way to each bound path: bubblewrap would make them 0700, owned
    # by the server's uid, which the children (uid 65534) could not pass through.
    parents = {str(p) for target in binds + files + links[2::3] for p in Path(target).parents}
    args = []
    for d in sorted(parents - {"/"}, key=lambda p: p.count("/")):
        args += ["--perms", "0755", "--dir", d]
    for target in binds + files:
        args += ["--ro-bind", target, target]
    return args + links + [
        "--perms", "0755", "--dir", "/kata", "--perms", "0755", "--dir", "/kata/grading",
        "--ro-bind", str(SANDBOX_DIR), "/kata/grading/sandbox",
        "--ro-bind", os.devnull, "/kata/grading/__init__.py"]   # an empty package stub


def nobody_userns():
    """A user namespace mapping only 0 and 65534 to themselves, as an fd for bwrap's
    --userns (root only: mapping ids other than our own needs CAP_SETUID)."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:                                 # the namespace's first member, briefly
        os.close(ready_r)
        os.close(done_w)
        ok = _libc.unshare(0x10000000) == 0      # CLONE_NEWUSER
        os.write(ready_w, b"1" if ok else b"0")
        os.read(done_r, 1)
        os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise OSError("cannot create a user namespace")
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(f"0 0 1\n{NOBODY} {NOBODY} 1\n")
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(done_w)
        os.close(ready_r)
        os.waitpid(pid, 0)


def bwrap_command(bwrap, tmp_bytes, userns_fd=None):
    """(command, env) of the fork server inside bubblewrap; `userns_fd` from
    `nobody_userns()` when we are root, else None (our own uid is mapped)."""
    if userns_fd is not None:
        user = ["--userns", str(userns_fd), "--cap-drop", "ALL",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_KILL"]
    else:
        user = ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
                "--cap-drop", "ALL"]
    cmd = [bwrap, *user, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session",
           "--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp",
           *view_args(), "--remount-ro", "/", "--chdir", "/",
           "--", interpreter(), "-S", "-m", "grading.sandbox.zygote"]
    pythonpath = ":".join(["/kata"] + sorted({str(Path(d).parent) for d in numpy_dirs()}))
    return cmd, pythonpath
