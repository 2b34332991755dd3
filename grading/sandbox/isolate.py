"""A fresh, private corner for each child: namespaces, read-only view, no privileges.

Runs in the child right after the fork, before any student code (see zygote.child_main):

1. new mount and IPC namespaces (and a new network namespace outside bubblewrap); when we
   are not uid 0 in our user namespace, a nested user namespace first, to be allowed to;
2. inside bubblewrap, every mount remounted read-only, then fresh size-bounded tmpfs on
   /tmp and /dev/shm; outside it (the fallback), the child builds bubblewrap's view itself
   from the same arguments: a new root holding only the runtime, read-only, and fresh /tmp
   and /dev/shm. What a child writes anywhere, files or SysV/POSIX IPC, dies with its
   namespaces and is never seen by the next class or submission (the root fix for "write
   and wait"), and nothing of the machine beyond the runtime is there to read;
3. uid 0 (fallback as root, or bubblewrap as root) drops to 65534 (nobody), which owns
   nothing; then no capabilities at all (bounding, ambient, permitted) and no_new_privs.
"""
import ctypes
import os
import sys

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
_FLAG_OF = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
            "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
PR_SET_NO_NEW_PRIVS = 38
NOBODY = 65534
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


class IsolationError(OSError):
    """A step of the isolation failed: the child must not run student code."""


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise IsolationError(code, f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       flags, data and data.encode()), f"mount {target}")


def _mount_points():
    """Every mount point of our mount namespace, with its per-mount flags, parents first."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            path = fields[4].encode().decode("unicode_escape")   # \040 for spaces
            flags = 0
            for option in fields[5].split(","):
                flags |= _FLAG_OF.get(option, 0)
            points.append((path, flags))
    return points


def _remount_all_read_only():
    """Read-only everywhere; locked flags (nosuid, nodev...) kept, as the kernel requires."""
    for path, flags in _mount_points():
        if path == "/proc" or path.startswith("/proc/"):
            continue      # per-process files (comm, oom_score_adj); /proc/sys is root's
        if flags & MS_RDONLY:
            continue      # already (bubblewrap's binds): each remount costs ~0.5 ms
        try:
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except IsolationError:
            # A mount we cannot see or reach (covered by another one) is not reachable
            # for the student either; anything else that stays writable is caught below.
            if os.path.isdir(path) and os.access(path, os.W_OK):
                raise


def _fresh_tmpfs(path, size, mode="1777", keep=()):
    """An empty tmpfs on `path`; the folders of `keep` below it (the Python runtime of a
    checkout under /tmp, say) are bound back in, read-only, at the same place."""
    inside = _outermost(k for k in keep if _below(k, path) and os.path.isdir(k))
    fds = [os.open(k, os.O_PATH | os.O_DIRECTORY) for k in inside]
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")
    for fd, folder in zip(fds, inside):
        os.makedirs(folder, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", folder, None, MS_BIND | MS_REC)
        _mount(None, folder, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        os.close(fd)


def _below(folder, path):
    return os.path.realpath(folder).startswith(os.path.realpath(path).rstrip("/") + "/")


def _outermost(folders):
    """The folders of `folders` not inside another one of them (a recursive bind covers those)."""
    folders = sorted({os.path.realpath(f) for f in folders})
    return [f for f in folders if not any(f.startswith(o + "/") for o in folders if o != f)]


def _import_folders():
    """Every folder this Python imports from: it must stay visible under a fresh /tmp."""
    return [p for p in {*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix,
                        os.path.dirname(os.path.realpath(sys.executable))} if p]


def _bind(source, target, is_dir):
    """`source` (opened before anything covers it) bound read-only at `target`."""
    if is_dir:
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _proc_options():
    """hidepid for our own /proc where the kernel keeps it per mount (Linux >= 5.8): the child
    then sees no other user's processes. Older kernels share it with the host's /proc."""
    major, minor = (int(n) for n in os.uname().release.split(".")[:2])
    return "hidepid=invisible" if (major, minor) >= (5, 8) else None


def _view_root(view_args, tmp_bytes, shm_bytes):
    """The fallback's whole view, built as bubblewrap builds it from the same arguments
    (grading.sandbox.view.view_args): a fresh root holding only those read-only binds, the
    folders and links on their way, a few devices, /proc and fresh /tmp and /dev/shm; then
    moved over / and entered. Nothing else of the machine (other submissions, --out, homes,
    the exchange, the grader) exists for the child at all."""
    ops, i = [], 0
    while i < len(view_args):          # --perms P --dir D | --ro-bind S T | --symlink L P
        if view_args[i] == "--perms":
            i += 2
            continue
        ops.append(view_args[i:i + (2 if view_args[i] == "--dir" else 3)])
        i += len(ops[-1])
    # Opened, and asked what they are, before anything covers them (the new root goes on
    # /tmp, where a checkout's runtime may live).
    sources = {op[1]: (os.open(op[1], os.O_PATH), os.path.isdir(op[1]))
               for op in ops if op[0] == "--ro-bind"}
    devices = {d: os.open(d, os.O_PATH) for d in DEVICES if os.path.exists(d)}
    host_proc = os.open("/proc", os.O_PATH | os.O_DIRECTORY)
    new = "/tmp"                        # any mount point will do: it is moved over / below
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    os.makedirs(new + "/tmp")
    _fresh_tmpfs(new + "/tmp", tmp_bytes)            # first: the binds below may lie in it
    for op in ops:
        target = new + op[-1]
        if op[0] == "--dir":
            os.makedirs(target, mode=0o755, exist_ok=True)
        elif op[0] == "--symlink":
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            os.symlink(op[1], target)
        else:
            fd, is_dir = sources[op[1]]
            _bind(f"/proc/self/fd/{fd}", target, is_dir)
    for device, fd in devices.items():
        _bind(f"/proc/self/fd/{fd}", new + device, False)
    os.makedirs(new + "/dev/shm", exist_ok=True)
    _fresh_tmpfs(new + "/dev/shm", shm_bytes)
    os.makedirs(new + "/proc", exist_ok=True)
    try:
        _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, _proc_options())
    except IsolationError:      # not allowed outside a pid namespace of our own: the host's
        _mount(f"/proc/self/fd/{host_proc}", new + "/proc", None, MS_BIND | MS_REC)
    for fd in [*(fd for fd, _ in sources.values()), *devices.values(), host_proc]:
        os.close(fd)
    _mount(None, new, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)   # / read-only
    os.chdir(new)
    _mount(new, "/", None, MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def _bound_sysv_memory(size):
    """SysV shared memory of our fresh IPC namespace: at most `size` bytes in all (its
    limits are the namespace's own, writable by uid 0 of our user namespace; where they
    are not, the sandbox's cgroup still counts the pages). numpy needs none."""
    for name, value in (("shmmax", size), ("shmall", max(1, size // os.sysconf("SC_PAGE_SIZE")))):
        try:
            with open(f"/proc/sys/kernel/{name}", "w") as f:
                f.write(str(value))
        except OSError:
            pass


def _map_own_ids():
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(user)")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    for name, ident in (("uid_map", uid), ("gid_map", gid)):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(f"{ident} {ident} 1")


def drop_privileges():
    """uid 0 -> nobody; then no capability in any set, and no way to gain one."""
    # The bounding set needs CAP_SETPCAP to shrink (the fallback as root has it; inside
    # bubblewrap it already holds only the three caps the server kept). Either way, once
    # the uid is not 0 and no_new_privs is set, nothing can bring a capability back.
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break                             # EINVAL: past the last capability
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if os.getuid() == 0 or os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)   # clears permitted and effective caps
    _capset_empty()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _capset_empty():
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()   # _LINUX_CAPABILITY_VERSION_3
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def capabilities():
    """The permitted | effective | ambient capability masks of this process (0 once
    dropped)."""
    mask = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("CapPrm:", "CapEff:", "CapAmb:")):
                mask |= int(line.split()[1], 16)
    return mask


def isolate(tmp_bytes, shm_bytes, new_network=False, view=()):
    """Steps 1-3 of the module's docstring; raises IsolationError if any fails.
    view: outside bubblewrap, the view's arguments (see _view_root)."""
    if os.getuid() != 0:
        _map_own_ids()
    flags = CLONE_NEWNS | CLONE_NEWIPC | (CLONE_NEWNET if new_network else 0)
    _check(_libc.unshare(flags), "unshare(mount, ipc)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)    # nothing of ours propagates back
    if view:                                         # the fallback: no bubblewrap
        _view_root(view, tmp_bytes, shm_bytes)
    else:
        _remount_all_read_only()
        keep = _import_folders()
        _fresh_tmpfs("/tmp", tmp_bytes, keep=keep)
        if os.path.isdir("/dev/shm"):
            _fresh_tmpfs("/dev/shm", shm_bytes, keep=keep)
    _bound_sysv_memory(shm_bytes)
    drop_privileges()
    if os.getuid() == 0 or capabilities():
        raise IsolationError(1, "privileges could not be dropped")
