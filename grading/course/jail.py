"""The box a student's notebook kernel runs in: bubblewrap, a cgroup, rlimits.

RUNS STUDENT CODE (through kernel.py). What the kernel sees:
  read-only   /usr, the Python runtime and the venv (its packages), the kernel-side
              `grading` stand-in (kernel_shim/, mounted wherever `import grading` would look:
              it only hands out the verdicts the trusted grader already gave this notebook) and those verdicts;
  writable    its own working copy (a size-bounded tmpfs holding a copy of the notebook's
              folder), a private /tmp, and the socket folder jupyter_client talks through;
  nothing     else: no network (own network namespace), no other processes (own pid
              namespace), no course, gradebook, exchange, repository, solutions or homes.
It runs as uid 65534 (nobody) with no capabilities; memory and process count (a cgroup:
grading/sandbox/cgroup.py), CPU time, address space and file sizes (rlimits) are bounded;
when it ends, everything left in its cgroup is killed.

As a program this file is the launcher jupyter_client starts (stdlib only, run with -I -S):
    python -I -S jail.py --join CGROUP_PROCS... --rlimit NAME=VALUE... -- bwrap ...
it moves itself into the kernel's cgroups, sets the rlimits and becomes bubblewrap.
"""
import os
import shutil
import subprocess
import sys

# Address space per process: an idle kernel maps ~0.75 GiB, so one allocation too big for
# the cgroup fails with MemoryError instead of inviting the OOM killer.
ADDRESS_SPACE = 2 << 30
CPU_SECONDS = 300           # CPU time per process (the kernel idles between cells)
FILE_BYTES = 64 << 20       # largest file it may write
WORK_BYTES = 64 << 20       # its working copy (a tmpfs, charged to its memory too)
TMP_BYTES = 64 << 20        # its /tmp
NOBODY = 65534
HOME = "/home/student"
INSIDE_WORK = f"{HOME}/work"          # the kernel's working directory
ORIGINAL = "/kata/original"           # the notebook's folder, read-only, copied into work
VERDICTS = "/kata/verdicts.json"      # what the shim hands out (see kernel_shim)
OPT_IN = "KATA_KERNEL_SANDBOX"        # =off: the instructor accepts unsandboxed kernels
REFUSAL = ("the notebook kernels cannot be sandboxed here ({why}); autograde refuses to run "
           "students' notebooks as you, with your files in reach. Install bubblewrap "
           "(apt-get install bubblewrap) and allow user namespaces, or accept the risk with "
           "KATA_KERNEL_SANDBOX=off (make autograde UNSAFE_KERNEL=1).")


# --- the bubblewrap command ------------------------------------------------------------------

def python_paths():
    """Where Python, its standard library and the venv's packages live (bound read-only)."""
    paths = []
    for path in (sys.base_prefix, sys.prefix, sys.exec_prefix,
                 os.path.dirname(os.path.realpath(sys.executable))):
        path = os.path.abspath(path)
        if any(path == p or path.startswith(p + "/") for p in paths + ["/usr"]):
            continue
        paths = [p for p in paths if not p.startswith(path + "/")] + [path]
    return paths


def _dirs_for(path, made):
    """bwrap options making every missing ancestor of `path` world-traversable (bwrap would
    copy the mode of the real one: /root is 0700)."""
    args, parts = [], path.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        d = "/" + "/".join(parts[:i])
        if d not in made:
            made.add(d)
            args += ["--perms", "0755", "--dir", d]
    return args


def bwrap_command(kernel_argv, *, original, sockets, shim, grading_dirs, verdicts, hidden,
                  drop_uid, env, bwrap="bwrap"):
    """The command that runs `kernel_argv` (python -m ipykernel_launcher ...) in the box.

    original: the notebook's folder (copied into the working copy); sockets: the folder of
    the connection file and the IPC sockets (same path inside); shim: the kernel-side
    `grading` package, mounted where `import grading` looks; verdicts: its JSON (or None);
    hidden: secret folders to cover if a bound tree holds them; drop_uid: become nobody;
    env: the kernel's whole environment (jupyter_client adds JPY_PARENT_PID to ours)."""
    cmd = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--hostname", "kernel",
           "--proc", "/proc", "--dev", "/dev", "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if not drop_uid:                         # not root: a user namespace does it
        cmd[1:1] = ["--unshare-user", "--uid", str(os.getuid()), "--cap-drop", "ALL"]
    # The writable places first: bubblewrap mounts in order, so the read-only binds below
    # stay visible even where they lie under /tmp or /home (a checkout or venv there).
    cmd += ["--perms", "0755", "--dir", "/home",
            "--perms", "0700", "--size", str(WORK_BYTES), "--tmpfs", HOME,
            "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for name in ("ld.so.cache", "localtime", "nsswitch.conf", "passwd", "group"):
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    made = {"/usr", "/etc", "/proc", "/dev", "/home", "/tmp", HOME}
    bound = python_paths()
    for path in bound:
        cmd += _dirs_for(path, made) + ["--ro-bind", path, path]
    for secret in hidden:                    # e.g. a checkout under a bound tree
        secret = os.path.abspath(secret)
        if any(secret.startswith(p + "/") for p in bound + ["/usr"]) and secret not in grading_dirs:
            cmd += ["--tmpfs", secret, "--remount-ro", secret]
    for grading_dir in grading_dirs:
        cmd += _dirs_for(grading_dir, made) + ["--ro-bind", shim, grading_dir]
    cmd += _dirs_for(VERDICTS, made) + ["--ro-bind", verdicts or os.devnull, VERDICTS]
    cmd += ["--ro-bind", original, ORIGINAL]
    cmd += _dirs_for(sockets, made) + ["--bind", sockets, sockets]
    cmd += ["--remount-ro", "/", "--chdir", "/"]
    # Copy the notebook's folder into the working copy, hand the home to nobody, drop
    # root for good (no capabilities, no way back: bwrap sets no_new_privs), run the kernel.
    steps = f"mkdir -p {INSIDE_WORK} && cp -R {ORIGINAL}/. {INSIDE_WORK}/ && cd {INSIDE_WORK}"
    if drop_uid:
        steps += (f" && chown -R {NOBODY}:{NOBODY} {HOME} && exec setpriv --reuid={NOBODY} "
                  f"--regid={NOBODY} --clear-groups --bounding-set=-all --inh-caps=-all -- \"$@\"")
    else:
        steps += ' && exec "$@"'
    return cmd + ["--", "/bin/sh", "-c", steps, "kernel", *kernel_argv]


def kernel_env(venv_bin):
    """All the kernel gets of our environment (no JPY_PARENT_PID: in its own pid namespace
    its parent is pid 1, which ipykernel would take for 'my parent died')."""
    env = {"PATH": f"{venv_bin}:/usr/bin:/bin", "HOME": HOME, "TMPDIR": "/tmp",
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    # nbgrader says "autograde" or "validate" here; the notebook's summary and training
    # cells read it to stay out of grading (they only cost time there, never points).
    if os.environ.get("NBGRADER_EXECUTION"):
        env["NBGRADER_EXECUTION"] = os.environ["NBGRADER_EXECUTION"]
    return env


def launcher_command(cgroup, inner):
    """This file as the launcher: join the cgroup, set rlimits, exec `inner`."""
    args = [sys.executable, "-I", "-S", os.path.abspath(__file__)]
    for path in cgroup.procs_files():
        args += ["--join", path]
    for name, value in (("CPU", CPU_SECONDS), ("FSIZE", FILE_BYTES), ("CORE", 0),
                        ("AS", ADDRESS_SPACE)):
        args += ["--rlimit", f"{name}={value}"]
    return args + ["--", *inner]


# --- can it run here? ---------------------------------------------------------------------------

_problem = None


def problem():
    """None when the box works here, else why not (tried once per process)."""
    global _problem
    if _problem is not None:
        return _problem or None
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        _problem = "bubblewrap (bwrap) is not installed"
        return _problem
    drop = os.getuid() == 0 and shutil.which("setpriv") is not None
    import tempfile
    with tempfile.TemporaryDirectory(prefix="kata-kernel-probe-") as tmp:
        os.chmod(tmp, 0o755)
        cmd = bwrap_command([sys.executable, "-I", "-c", "import os; print(os.getuid())"],
                            original=tmp, sockets=tmp, shim=tmp, grading_dirs=["/kata/grading"],
                            verdicts=None, hidden=[], drop_uid=drop, bwrap=bwrap,
                            env=kernel_env(os.path.dirname(sys.executable)))
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _problem = f"bwrap did not run: {exc}"
            return _problem
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        _problem = "bwrap failed: " + (done.stderr.strip().splitlines() or ["no output"])[-1]
    elif os.getuid() == 0 and done.stdout.strip() == "0":
        _problem = "the kernel would run as root (setpriv missing?)"
    else:
        _problem = ""
    return _problem or None


def opted_out():
    return os.environ.get(OPT_IN, "").lower() in ("off", "0", "no", "unsafe")


# --- the launcher ----------------------------------------------------------------------------

def _launch(argv):
    import resource
    sep = argv.index("--")
    opts, inner = argv[:sep], argv[sep + 1:]
    for i in range(0, len(opts), 2):
        flag, value = opts[i], opts[i + 1]
        if flag == "--join":
            with open(value, "w") as f:
                f.write(str(os.getpid()))
        elif flag == "--rlimit":
            name, number = value.split("=")
            limit = int(number)
            resource.setrlimit(getattr(resource, "RLIMIT_" + name), (limit, limit))
    os.execvp(inner[0], inner)


if __name__ == "__main__":
    _launch(sys.argv[1:])
