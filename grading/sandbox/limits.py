"""Kernel limits for the processes that run student code: rlimits, prctl and seccomp.

These hold with or without bubblewrap. bubblewrap hides the file system and network;
the limits here bound time, memory and file sizes, and the seccomp filter keeps student
code from signalling, tracing or re-limiting any other process (without it, in the
fallback, `os.kill(-1, 9)` would end every process of the instructor's account) and from
creating processes at all: as root the kernel ignores RLIMIT_NPROC, so nothing else would
stop a fork bomb. Threads stay allowed.
"""
import ctypes
import errno
import os
import platform
import resource
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2


def prctl(option, arg=0):
    if _libc.prctl(option, arg, 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"prctl({option}): {os.strerror(code)}")


def become_subreaper():
    """Orphaned descendants (double fork, setsid) become our children, not init's."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def make_undumpable():
    """No ptrace, no /proc/<pid>/mem for same-uid processes; inherited by children."""
    prctl(PR_SET_DUMPABLE, 0)


def die_with_parent(sig=9):
    """Get `sig` when the parent ends, so nothing outlives the judge or the zygote."""
    prctl(PR_SET_PDEATHSIG, sig)


def _limit(which, soft, hard=None):
    """Lower a limit; never try to raise a hard limit (that needs privileges)."""
    _, old_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, old_hard), min(hard, old_hard)
    resource.setrlimit(which, (soft, hard))


def apply_rlimits(cpu_seconds, memory_bytes, file_bytes, open_files, processes):
    # CPU: soft -> SIGXCPU (the judge reads that as a timeout); hard 1 s later -> SIGKILL.
    _limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    _limit(resource.RLIMIT_AS, memory_bytes)
    _limit(resource.RLIMIT_FSIZE, file_bytes)      # SIGXFSZ is ignored: writes fail instead
    _limit(resource.RLIMIT_NOFILE, open_files)
    _limit(resource.RLIMIT_CORE, 0)
    # Counts every process of this uid (in its user namespace); not enforced for root.
    _limit(resource.RLIMIT_NPROC, processes)


def count_own_processes():
    """Processes (tasks) of our uid that we can see: the base for RLIMIT_NPROC."""
    uid, count = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                pass
    return count


# --- seccomp: a tiny BPF program, as in seccomp(2) -------------------------------------

# audit arch, and syscall numbers: ptrace, process_vm_readv/writev, kill, tkill, tgkill,
# rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal, pidfd_getfd, kcmp; then
# prlimit64 (allowed on pid 0 only) and ioctl (TIOCSTI refused: no typing into a terminal).
_ARCHES = {
    "x86_64": (0xC000003E, [101, 310, 311, 62, 200, 234, 129, 297, 424, 438, 312], 302, 16),
    "aarch64": (0xC00000B7, [117, 270, 271, 129, 130, 131, 138, 240, 424, 438, 272], 261, 29),
}
# Creating processes: clone, clone3, and fork and vfork (x86_64 only: aarch64 has neither).
_CLONES = {"x86_64": (56, 435, [57, 58]), "aarch64": (220, 435, [])}
# Namespaces and mounts (the child made its own before the filter; no more): unshare,
# setns, mount, umount2, pivot_root; and the new mount API (same numbers everywhere).
_NAMESPACES = {"x86_64": [272, 308, 165, 166, 155], "aarch64": [97, 268, 40, 39, 41]}
_NEW_MOUNT_API = [428, 429, 430, 431, 432, 442]     # open_tree .. mount_setattr
# fcntl: F_SETOWN/F_SETOWN_EX/F_SETSIG (+ O_ASYNC) would have the kernel send a chosen
# signal to a chosen process on I/O: a kill() that does not look like one. The ioctls
# FIOSETOWN and SIOCSPGRP set the same owner.
_FCNTL = {"x86_64": 72, "aarch64": 25}
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
FIOSETOWN, SIOCSPGRP = 0x8901, 0x8902
_X32_BIT = 0x40000000
TIOCSTI = 0x5412
CLONE_THREAD = 0x00010000

_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_DENY, _NOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS


def seccomp_supported():
    return platform.machine() in _ARCHES


def _filter_program(refuse_forks=True):
    arch, refused, prlimit64, ioctl = _ARCHES[platform.machine()]
    clone, clone3, forks = _CLONES[platform.machine()]
    # (code, k, jump-if-true label, jump-if-false label); labels are resolved below.
    prog = [(_LD_ABS, 4, None, None),                 # seccomp_data.arch
            (_JEQ, arch, None, "deny"),                 # other ABIs (int 0x80): refused
            (_LD_ABS, 0, None, None)]                   # seccomp_data.nr
    if arch == _ARCHES["x86_64"][0]:
        prog.append((_JGE, _X32_BIT, "deny", None))
    prog += [(_JEQ, nr, "deny", None) for nr in refused]
    if refuse_forks:
        # A thread is a clone with CLONE_THREAD; any other clone is a new process. The
        # flags are args[0] on both architectures, and the kernel reads only their low
        # half, as we do. clone3's flags sit behind a pointer that seccomp cannot read:
        # ENOSYS makes glibc fall back to clone (for threads and posix_spawn alike).
        prog += [(_JEQ, nr, "deny", None) for nr in forks]
        prog += [(_JEQ, clone3, "nosys", None),
                 (_JEQ, clone, None, "ioctl"),
                 (_LD_ABS, 16, None, None),             # args[0], low half: the flags
                 (_JSET, CLONE_THREAD, "allow", "deny"),
                 ("ioctl", None, None, None)]
    prog += [(_JEQ, nr, "deny", None) for nr in _NAMESPACES[platform.machine()] + _NEW_MOUNT_API]
    prog += [(_JEQ, ioctl, None, "fcntl"),
             (_LD_ABS, 24, None, None),                 # args[1], low half: the request
             (_JEQ, TIOCSTI, "deny", None),
             (_JEQ, FIOSETOWN, "deny", None),
             (_JEQ, SIOCSPGRP, "deny", "allow"),
             ("fcntl", None, None, None),
             (_JEQ, _FCNTL[platform.machine()], None, "prlimit"),
             (_LD_ABS, 24, None, None),                 # args[1], low half: the command
             (_JEQ, F_SETOWN, "deny", None),
             (_JEQ, F_SETSIG, "deny", None),
             (_JEQ, F_SETOWN_EX, "deny", "allow"),
             ("prlimit", None, None, None),
             (_JEQ, prlimit64, None, "allow"),
             (_LD_ABS, 16, None, None),                 # args[0], low half: the pid
             (_JEQ, 0, None, "deny"),
             (_LD_ABS, 20, None, None),                 # args[0], high half
             (_JEQ, 0, "allow", "deny"),
             ("allow", None, None, None), (_RET, _ALLOW, None, None),
             ("deny", None, None, None), (_RET, _DENY, None, None),
             ("nosys", None, None, None), (_RET, _NOSYS, None, None)]
    labels, code = {}, []
    for op in prog:
        if isinstance(op[0], str):
            labels[op[0]] = len(code)
        else:
            code.append(op)
    out = b""
    for i, (op, k, if_true, if_false) in enumerate(code):
        jt = labels[if_true] - i - 1 if if_true else 0
        jf = labels[if_false] - i - 1 if if_false else 0
        out += struct.pack("=HBBI", op, jt, jf, k)
    return out, len(code)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(refuse_forks=True):
    """Refuse (EPERM) the syscalls that reach other processes, and unless `refuse_forks`
    is false (for tests only), those that create one. Irreversible."""
    program, length = _filter_program(refuse_forks)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(length, ctypes.addressof(buffer))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"seccomp: {os.strerror(code)}")
