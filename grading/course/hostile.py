"""Hostile students for the course loop: one extra notebook cell per capability.

Each cell is what a determined student would add after the imports, knowing the
instructor's paths (as if an earlier leak had shown them). Every attempt prints one line
`PROBE <what> <target>: blocked (...)` or `PROBE <what> <target>: GOT ...`; the selftest
wants no GOT, and checks the effects themselves too (files unchanged, scores, no leak in
any feedback page, no process or cgroup left).
"""
PRELUDE = '''\
import base64 as _b64, os as _os, zlib as _zlib
def _probe(what, target, action):
    try:
        got = action()
    except BaseException as exc:          # blocked: the attempt's own error
        print(f"PROBE {what} {target}: blocked ({type(exc).__name__})")
        return None
    print(f"PROBE {what} {target}: GOT {str(got)[:60]!r}")
    return got
def _sees(target):
    """What a folder shows (its names only; mount points of the box are no secret)."""
    try:
        print(f"SEES {target}: {sorted(_os.listdir(target))}")
    except OSError as exc:
        print(f"SEES {target}: nothing ({type(exc).__name__})")
# What an earlier kernel may have left for this one:
for _d in ("/tmp", _os.path.expanduser("~"), "/dev/shm"):
    _probe("find", f"{_d}/kata-vandal-was-here",
           lambda: open(_os.path.join(_d, "kata-vandal-was-here")).read())
'''

SNOOP = '''\
# Read the course: solutions, the source notebook, the gradebook, classmates, the grader.
_found = {{}}
for _path in {reads!r}:
    _data = _probe("read", _path, lambda: open(_path, "rb").read())
    if _data:
        _found[_path] = _data
for _top in {lists!r}:
    _sees(_top)
# Anything on this machine that looks like a solution, a hidden suite or a gradebook.
import sys as _sys
_skip = {{"/proc", "/sys", "/dev", "/usr", _sys.prefix, _sys.base_prefix}}
for _root, _dirs, _files in _os.walk("/"):
    _dirs[:] = [d for d in _dirs if _os.path.join(_root, d) not in _skip]
    for _f in _files:
        if _f in ("layers.py", "optimizer.py", "gradebook.db") or _f.startswith("test_"):
            _p = _os.path.join(_root, _f)
            _data = _probe("read", _p, lambda: open(_p, "rb").read())
            if _data and b"BEGIN SOLUTION" in _data:
                _found[_p] = _data
# Leak it through this notebook's output, encoded so that a plain scan misses it.
for _p, _data in _found.items():
    print("BLOB", _b64.b64encode(_zlib.compress(_data)).decode())
'''

VANDAL = '''\
# Write where the grader, the gradebook, classmates and the next kernels would read.
_evil = "raise SystemExit('vandal was here')\\n"
for _path in {writes!r}:
    _probe("write", _path, lambda: open(_path, "a").write(_evil))
_probe("write", "site-packages/sitecustomize.py",
       lambda: open(__import__("site").getsitepackages()[0] + "/sitecustomize.py", "w").write(_evil))
# Leave something for the next submission in every writable place it can find (its own
# /tmp and home are writable: they must be gone for the next kernel, see the prelude).
for _d in ("/tmp", _os.path.expanduser("~"), "/dev/shm"):
    try:
        open(_os.path.join(_d, "kata-vandal-was-here"), "w").write("x")
        print(f"LEFT {{_d}}/kata-vandal-was-here")
    except OSError as exc:
        print(f"PROBE leave {{_d}}: blocked ({{type(exc).__name__}})")
'''

NETCAT = '''\
# Reach the network: PyPI, a public DNS server, the instructor's machine.
import socket as _socket, sys as _sys, urllib.request as _url
_probe("connect", "pypi.org:443", lambda: _socket.create_connection(("pypi.org", 443), timeout=3))
_probe("connect", "1.1.1.1:53", lambda: _socket.create_connection(("1.1.1.1", 53), timeout=3))
_probe("connect", "10.0.2.2:22", lambda: _socket.create_connection(("10.0.2.2", 22), timeout=3))
_probe("fetch", "https://pypi.org/simple/", lambda: _url.urlopen("https://pypi.org/simple/", timeout=3).read(10))
# Other kernels' socket folders (this kernel's own is the one its connection file is in).
_own = _os.path.basename(_os.path.dirname(_sys.argv[_sys.argv.index("-f") + 1]))
_probe("list", "/dev/shm (other kernels' sockets)",
       lambda: [n for n in _os.listdir("/dev/shm") if n != _own] or 1 / 0)
'''

FORGER = '''\
# Forge the hidden cells' verdicts another way: every JSON verdict reads as full marks.
import json as _json
_real_loads = _json.loads
def _full_marks(text, *args, **kwargs):
    value = _real_loads(text, *args, **kwargs)
    if isinstance(value, dict) and "max_score" in value:
        value["score"] = value["max_score"]
        value["output"] = "all tests passed"
    return value
_json.loads = _full_marks
_probe("write", "/kata/verdicts.json", lambda: open("/kata/verdicts.json", "w").write("{{}}"))
'''

HOG = '''\
# Take the machine: memory, processes, and a process that outlives the kernel.
import subprocess as _sp
_probe("allocate", "8 GiB", lambda: bytearray(8 << 30))
_kids = []
def _forks():
    for _ in range(500):
        _pid = _os.fork()
        if _pid == 0:
            import time; time.sleep(30); _os._exit(0)
        _kids.append(_pid)
    return len(_kids)
_probe("fork", "500 children", _forks)
for _pid in _kids:
    _os.kill(_pid, 9); _os.waitpid(_pid, 0)
import sys as _sys
_sp.Popen([_sys.executable, "-c", "import time; time.sleep(600)", "kata-hog-linger"],
          start_new_session=True)
print("LINGER started a process that should not outlive this kernel")
'''


def cells(paths):
    """{student: cell source} for the hostile students; `paths`: the instructor's folders
    the cells aim at (repo, course, exchange, the other students' ids)."""
    repo, course, exchange = paths["repo"], paths["course"], paths["exchange"]
    mate = paths["classmate"]
    reads = [f"{repo}/solutions/layers.py", f"{repo}/grading/judge/suites/test_matmul.py",
             f"{course}/source/backprop/backprop.ipynb", f"{course}/gradebook.db",
             f"{course}/submitted/{mate}/backprop/backprop.ipynb",
             f"{course}/trusted/{mate}/backprop/results.json",
             f"{exchange}/backprop-kata/inbound", "/root/.ssh/id_rsa", "/etc/shadow",
             "/proc/1/environ"]
    lists = [repo, course, f"{course}/submitted", exchange, "/root", "/home", "/work"]
    writes = [f"{repo}/grading/grader.py", f"{repo}/solutions/layers.py",
              f"{course}/gradebook.db", f"{course}/submitted/{mate}/backprop/backprop.ipynb",
              f"{course}/autograded/{mate}/backprop/backprop.ipynb",
              f"{course}/trusted/{mate}/backprop/claims.json", f"{course}/nbgrader_config.py",
              f"{repo}/grading/course/nbgrader_config.py", f"{exchange}/backprop-kata/outbound/x"]
    bodies = {"snoop": SNOOP.format(reads=reads, lists=lists),
              "vandal": VANDAL.format(writes=writes),
              "netcat": NETCAT, "forger": FORGER.format(), "hog": HOG}
    return {student: PRELUDE + body for student, body in bodies.items()}
