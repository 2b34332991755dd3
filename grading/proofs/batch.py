"""`python -m grading grade` as a batch, interrupted (names, --out and tables: proofs/output.py).

Interrupts: the grader is stopped mid-run by Ctrl-C (SIGINT to its process group, as a
terminal sends it), SIGTERM and SIGKILL (with and without bubblewrap); every process it
started must be gone, and grades.csv must list this run (or, after SIGKILL, be absent),
never an older run's table.
"""
import csv
import json
import os
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grading.proofs import PY, ROOT, _write, step

HANG_SECONDS = 15          # an interrupted grader that has not exited by then hangs
STALE_ROW = "stale-student"


# --- processes -----------------------------------------------------------------------------

def _stat(pid):
    """(ppid, state, start time) of a process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], fields[19]


def _descendants(pid):
    """{pid: start time} of every live process below `pid`."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None:
                table[int(entry)] = info
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, _, started) in table.items():
            if ppid == parent and child not in found:
                found[child] = started
                todo.append(child)
    return found


def _alive(processes):
    """The processes of {pid: start time} still running (not zombies, not reused pids)."""
    left = []
    for pid, started in processes.items():
        info = _stat(pid)
        if info is not None and info[1] != "Z" and info[2] == started:
            left.append(pid)
    return left


# --- one interrupted run ---------------------------------------------------------------------

def _graded_names(out):
    names = []
    for path in out.glob("*/results.json"):
        try:
            kata = json.loads(path.read_text())["kata"]
            if not kata.get("stale") and kata.get("status") != "not graded: interrupted":
                names.append(path.parent.name)
        except (OSError, ValueError, KeyError):
            pass
    return names


def _interrupted_run(problems, label, paths, out, how, env):
    """Start a batch, signal it once a submission is graded, and check what is left."""
    out.mkdir(parents=True)
    (out / "grades.csv").write_text(f"submission,total\n{STALE_ROW},100\n")
    stale = out / paths[-1].name / "results.json"
    _write(stale.parent, {"results.json": json.dumps({"score": 77, "kata": {"stale": True}})})
    process = subprocess.Popen([PY, "-m", "grading", "grade", *map(str, paths), "--out", str(out),
                                "--jobs", "2", "--timeout", "5"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    seen, deadline = {}, time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        seen.update(_descendants(process.pid))
        if _graded_names(out):
            break
        time.sleep(0.05)
    seen.update(_descendants(process.pid))
    if process.poll() is not None:
        problems.append(f"{label}: the run ended before it could be interrupted")
        return
    {"SIGINT": lambda: os.killpg(process.pid, signal.SIGINT),
     "SIGTERM": lambda: os.kill(process.pid, signal.SIGTERM),
     "SIGKILL": lambda: os.kill(process.pid, signal.SIGKILL)}[how]()
    try:
        stdout, stderr = process.communicate(timeout=HANG_SECONDS)
    except subprocess.TimeoutExpired:   # the grader, or processes holding its output open
        if process.poll() is None:
            problems.append(f"{label}: the grader hung for {HANG_SECONDS} s after {how}")
        stdout = stderr = None
    time.sleep(0.5)   # the kernel's death signals are immediate; give exits a moment
    left = _alive(seen)
    problems.expect(not left, f"{label}: {len(left)} of the grader's {len(seen)} processes "
                    f"outlived it: " + ", ".join(Path(f"/proc/{p}/comm").read_text().strip()
                                                for p in left if Path(f"/proc/{p}/comm").exists()))
    for pid in left + ([process.pid] if process.poll() is None else []):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if stderr is None:
        stdout, stderr = process.communicate()
    graded = set(_graded_names(out))
    grades = out / "grades.csv"
    text = grades.read_text() if grades.exists() else ""
    problems.expect(STALE_ROW not in text, f"{label}: an older run's grades.csv is still there")
    stale_now = json.loads(stale.read_text()) if stale.exists() else {}
    problems.expect(stale_now.get("kata", {}).get("stale") is None,
                    f"{label}: an older run's results.json is left looking current")
    if how == "SIGKILL":
        problems.expect(not grades.exists(), f"{label}: grades.csv exists after a SIGKILL")
        print(f"   {label}: {len(graded)} of {len(paths)} graded, {len(seen)} processes, "
              f"{len(left)} left; grades.csv {'absent' if not grades.exists() else 'PRESENT'}")
        return
    rows = list(csv.DictReader(text.splitlines())) if text else []
    problems.expect(process.returncode == 130, f"{label}: exit status {process.returncode}, "
                    f"expected 130:\n{stderr[-1500:]}")
    problems.expect("interrupted:" in stderr and f"of {len(paths)} submissions graded" in stderr,
                    f"{label}: the grader did not say plainly what was graded:\n{stderr[-1500:]}")
    problems.expect("Traceback" not in stderr, f"{label}: a traceback:\n{stderr[-1500:]}")
    problems.expect(len(rows) == len(paths), f"{label}: grades.csv has {len(rows)} rows, "
                    f"expected {len(paths)}:\n{text[:1500]}")
    for row in rows:
        want = "graded" if row.get("submission") in graded else "not graded: interrupted"
        problems.expect(row.get("status") == want, f"{label}: {row.get('submission')} is "
                        f"{row.get('status')!r} in grades.csv, but its results.json says {want!r}")
    print(f"   {label}: {len(graded)} of {len(paths)} graded, exit {process.returncode}, "
          f"{len(seen)} processes, {len(left)} left; said: "
          + next((l for l in stderr.splitlines() if l.startswith("interrupted")), "(nothing)"))


@step("batch: Ctrl-C, SIGTERM and SIGKILL mid-run leave no process, no stale grades.csv, and say what was graded; a killed worker costs nothing")
def batch_interrupts(problems):
    from grading import catalogue
    reference = catalogue.reference_sources()
    # Each slow class sleeps 2 s while its module loads: a worker is busy when the signal comes.
    slow = dict(reference, **{"layers.py": "import time\ntime.sleep(2)\n" + reference["layers.py"]})
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(5) as pool:
        runs = []
        for label, how, mode in (("Ctrl-C", "SIGINT", "auto"), ("SIGTERM", "SIGTERM", "auto"),
                                 ("SIGKILL", "SIGKILL", "auto"), ("SIGKILL, no bubblewrap", "SIGKILL", "off")):
            subs = Path(tmp) / label.replace(" ", "_") / "subs"
            paths = [_write(subs / f"ref-{i}", reference) for i in range(2)]
            paths += [_write(subs / f"slow-{i}", slow) for i in range(2)]
            paths += [_write(subs / f"ref-{i}", reference) for i in range(2, 8)]
            env = dict(os.environ, KATA_SANDBOX=mode)
            # The four runs at once: each watches only its own processes.
            runs.append(pool.submit(_interrupted_run, problems, label, paths, subs.parent / "out", how, env))
        subs = Path(tmp) / "worker-killed" / "subs"
        paths = [_write(subs / f"ref-{i}", reference) for i in range(2)]
        paths += [_write(subs / "slow-0", slow), _write(subs / "ref-2", reference)]
        runs.append(pool.submit(_worker_killed, problems, paths, subs.parent / "out"))
        for done in runs:
            done.result()


def _worker_killed(problems, paths, out):
    """A worker SIGKILLed from outside mid-run: its submission is graded again in a new
    worker, and the batch ends normally with every submission graded."""
    process = subprocess.Popen([PY, "-m", "grading", "grade", *map(str, paths), "--out", str(out),
                                "--jobs", "2", "--timeout", "5", "--quiet"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline, victim = time.monotonic() + 60, None
    while victim is None and time.monotonic() < deadline and process.poll() is None:
        if _graded_names(out):
            workers = [pid for pid, (ppid, _, _) in ((p, _stat(p)) for p in _descendants(process.pid))
                       if ppid == process.pid and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
            victim = workers[0] if workers else None
        time.sleep(0.05)
    if victim is None:
        problems.append("worker killed: no worker to kill was found while the batch ran")
        process.kill()
        process.communicate()
        return
    os.kill(victim, signal.SIGKILL)
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        problems.append("worker killed: the batch did not finish")
    rows = list(csv.DictReader((out / "grades.csv").read_text().splitlines())) if (out / "grades.csv").is_file() else []
    problems.expect(process.returncode == 0 and len(rows) == len(paths)
                    and all(r["status"] == "graded" and float(r["total"]) == 100 for r in rows),
                    f"worker killed: exit {process.returncode}, rows {[(r['submission'], r['total'], r['status']) for r in rows]}"
                    f"\n{stderr[-1500:]}")
    print(f"   worker killed: exit {process.returncode}, {len(rows)} of {len(paths)} graded 100 after "
          f"a worker was SIGKILLed mid-run")
