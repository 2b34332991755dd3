"""Issue 7's findings 1, 2, 3, 5, 6 as one batch: hostile samples between honest copies.

One `python -m grading grade --jobs 1` run per sandbox mode (bubblewrap where it runs, and
the fallback), so that every sample is graded by the same worker and the same fork
server as the honest submissions before and after it. Then the machine is checked: no
process, cgroup, file or SysV segment survives, memory is back, and nothing outside
--out changed (the checkout, a root-only canary, the folders around --out).
"""
import ctypes
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from grading.proofs import PY, ROOT, _write, run, step

OPTIONS = ["--jobs", "1", "--timeout", "3", "--class-budget", "4", "--submission-budget", "5"]
SUBMISSION_BUDGET = 5.0
KEYS = ("6b617461", "6b610000")           # the samples' SysV keys (hex, as /proc shows them)
# Other users of the machine (a browser) move Shmem too; what the hog would leave if its
# namespaces leaked is over 1 GiB.
SHMEM_SLACK_KIB = 256 << 10
HONEST_BEFORE, HONEST_AFTER = ["honest-before"], ["honest-after"]


def _snapshot(folder, skip=()):
    """{relative path: (size, mtime_ns)} of every file below `folder`."""
    found = {}
    for path, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in skip and os.path.join(path, d) not in skip]
        for name in files:
            full = os.path.join(path, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            found[os.path.relpath(full, folder)] = (st.st_size, st.st_mtime_ns)
    return found


def _nobody_processes():
    """{pid: comm} of processes running as uid 65534 or named as our samples name theirs."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if uid == 65534 or comm in ("kata-escapee", "kata-sleeper"):
            found[int(pid)] = comm
    return found


def _shmem_kib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1])
    return 0


MARK = b"kata-planted-by-a-submission"


def _host_plants():
    """Anything the samples left on the machine itself; removed at once (a sandbox that
    fails this proof must not leave the machine's Python poisoned), and reported."""
    import sys
    import numpy
    folders = {"/", "/tmp", "/dev", "/dev/shm", "/var/tmp", str(ROOT),
               os.path.dirname(os.path.dirname(numpy.__file__))} | {p for p in sys.path if p}
    found = []
    for folder in folders:
        for name in ("kata-planted.txt", "fractions.py", "statistics.py", "decimal.py", "hog"):
            path = Path(folder, name)
            try:
                with open(path, "rb") as f:
                    head = f.read(200)
                planted = MARK in head or (name == "hog" and path.is_file())
            except OSError:
                continue
            if planted:
                path.unlink()
                found.append(str(path))
    libc = ctypes.CDLL(None)
    for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]:
        key, shmid = int(line.split()[0]), int(line.split()[1])
        if format(key, "08x").startswith(KEYS):
            libc.shmctl(shmid, 0, None)                      # IPC_RMID
            found.append(f"SysV key {key:#x}")
    return found


def _batch(tmp, mode):
    """The submission folders in grading order, and {name: (scores, words)}."""
    from grading import catalogue
    from grading.samples import TRUST, hostile_samples, write_hostile
    reference = catalogue.reference_sources()
    samples = hostile_samples(TRUST)
    if mode == "off":
        samples.pop("peek_usr")      # the fallback shows the machine, read-only
    names = list(samples) + ["plant-again"]
    paths, expected = [], {}
    for name in HONEST_BEFORE:
        paths.append(_write(tmp / "subs" / name, reference))
    for name in names:
        spec = samples[name.removesuffix("-again")]
        written = write_hostile(name.removesuffix("-again"), tmp / "samples" / name, spec)
        paths.append(written.rename(tmp / "subs" / name))
        expected[name] = (spec["scores"], spec["words"])
    for name in HONEST_AFTER:
        paths.append(_write(tmp / "subs" / name, reference))
    for name in HONEST_BEFORE + HONEST_AFTER:
        expected[name] = ({"*": 25}, [])
    return paths, expected


def _check_results(out, expected, problems, mode):
    from grading.sandbox import cgroup
    for name, (scores, words) in expected.items():
        if name == "hog" and cgroup.mode() == "none":
            scores = {c: v for c, v in scores.items() if c != "SGD"}   # rlimits, no kill
        path = out / name / "results.json"
        if not path.exists():
            problems.append(f"[{mode}] {name}: no results.json")
            continue
        results = json.loads(path.read_text())
        got = {c: v["score"] for c, v in results["kata"]["classes"].items()}
        text = results["output"] + "\n".join(t["output"] for t in results["tests"])
        for cls in ("MatMul", "Sigmoid", "Affine", "SGD"):
            want = scores.get(cls, scores.get("*"))
            if want is not None and got.get(cls) != want:
                problems.append(f"[{mode}] {name}: {cls} scored {got.get(cls)}, expected {want}: "
                                + text[:600])
        for word in words:
            problems.expect(word in text, f"[{mode}] {name}: no {word!r} in:\n{text[:800]}")
        if name == "hog" and cgroup.mode() != "none":
            problems.expect("SIGKILL (out of memory?)" in text or "did not finish within" in text,
                            f"[{mode}] hog was neither killed nor timed out:\n{text[:800]}")
            if "SIGKILL" not in text:
                print(f"     [{mode}] hog: the per-call time ran out before the memory (busy machine)")
        if name == "sleeper":
            problems.expect(results["score"] < 100, f"[{mode}] sleeper scored 100")
            problems.expect(results["execution_time"] <= SUBMISSION_BUDGET + 2,
                            f"[{mode}] sleeper took {results['execution_time']} s, over its "
                            f"{SUBMISSION_BUDGET:g} s budget")


def _one_mode(mode, problems):
    with tempfile.TemporaryDirectory(prefix="kata-trust-") as tmp:
        tmp = Path(tmp)
        paths, expected = _batch(tmp, mode)
        canary = Path(f"/var/tmp/kata-canary-{os.getpid()}")
        canary.write_text("only root may read this\n")
        canary.chmod(0o600)
        try:
            _graded(tmp, mode, paths, expected, canary, problems)
        finally:
            canary.unlink(missing_ok=True)


def _graded(tmp, mode, paths, expected, canary, problems):
    """Grade the batch, then check the results and the machine."""
    from grading.sandbox import cgroup
    repo_before = _snapshot(ROOT, skip={".venv", ".git", str(ROOT / "demo")})
    tmp_before = _snapshot(tmp)
    nobody_before, groups_before = _nobody_processes(), set(cgroup.leftovers())
    shmem_before = _shmem_kib()
    out = tmp / "out"
    started = time.monotonic()
    done = run([PY, "-m", "grading", "grade", *map(str, paths), "--out", str(out),
                "--quiet", *OPTIONS], env=dict(os.environ, KATA_SANDBOX=mode))
    seconds = time.monotonic() - started
    try:
        header = next(line for line in done.stderr.splitlines() if line.startswith("sandbox:"))
    except StopIteration:
        header = "(no sandbox header)"
    print(f"   KATA_SANDBOX={mode}: {len(paths)} submissions in {seconds:.1f} s, exit "
          f"{done.returncode}\n     {header}")
    problems.expect(done.returncode == 0, f"[{mode}] grade exited {done.returncode}: "
                                          + done.stderr[-1500:])
    problems.expect(header != "(no sandbox header)", f"[{mode}] no sandbox header")
    _check_results(out, expected, problems, mode)
    # Nothing survives: processes, cgroups, files, segments; memory comes back.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (
            set(_nobody_processes()) - set(nobody_before)
            or _shmem_kib() > shmem_before + SHMEM_SLACK_KIB):
        time.sleep(0.1)
    left = {p: c for p, c in _nobody_processes().items() if p not in nobody_before}
    problems.expect(not left, f"[{mode}] processes survived the run: {left}")
    groups = set(cgroup.leftovers()) - groups_before
    problems.expect(not groups, f"[{mode}] cgroups survived the run: {sorted(groups)}")
    shmem = _shmem_kib()
    print(f"     shared memory (tmpfs + SysV) on the machine: {shmem_before >> 10} MiB "
          f"before, {shmem >> 10} MiB after")
    problems.expect(shmem <= shmem_before + SHMEM_SLACK_KIB,
                    f"[{mode}] memory not back: Shmem {shmem_before} -> {shmem} KiB")
    plants = _host_plants()
    problems.expect(not plants, f"[{mode}] left on the machine: {plants}")
    # Nothing outside --out changed; --out holds only what the grader writes.
    problems.expect(_snapshot(ROOT, skip={".venv", ".git", str(ROOT / "demo")}) == repo_before,
                    f"[{mode}] the checkout changed during the run")
    problems.expect({k: v for k, v in _snapshot(tmp).items() if not k.startswith("out/")}
                    == tmp_before, f"[{mode}] files next to --out changed")
    extra = [k for k in _snapshot(out) if k != "grades.csv"
             and not (k.endswith("/results.json") and k.count("/") == 1)]
    problems.expect(not extra, f"[{mode}] unexpected files in --out: {extra}")
    problems.expect(canary.read_text() == "only root may read this\n",
                    f"[{mode}] the canary changed")


@step("trust: issue 7's hostile samples in one batch between honest copies, per sandbox mode")
def trust_batch(problems):
    from grading.judge import remote
    modes = (["bwrap"] if remote.bwrap_available() else []) + ["off"]
    if os.geteuid() != 0:
        print("   not root: the fallback would refuse to grade (checked in grading/selftests)")
        modes = [m for m in modes if m != "off"]
    for mode in modes:
        _one_mode(mode, problems)


@step("trust: the Gradescope layout without bubblewrap scores the stubs 0")
def trust_gradescope_fallback(problems):
    from grading import catalogue, gradescope
    import zipfile
    with tempfile.TemporaryDirectory(prefix="kata-trust-gs-") as tmp:
        root = Path(tmp, "autograder")
        with zipfile.ZipFile(gradescope.build(Path(tmp, "autograder.zip"))) as z:
            z.extractall(root / "source")
        _write(root / "submission", catalogue.stub_sources())
        (root / "results").mkdir()
        # A results.json left from before must never be what Gradescope reads.
        (root / "results" / "results.json").write_text('{"score": 100}')
        run(["bash", str(root / "source" / "run_autograder")],
            env=dict(os.environ, AUTOGRADER_ROOT=str(root), KATA_PYTHON=PY, KATA_SANDBOX="off"))
        data = json.loads((root / "results" / "results.json").read_text())
        print(f"   stubs, KATA_SANDBOX=off: score {data['score']:g}")
        problems.expect(data["score"] == 0, f"Gradescope fallback scored the stubs {data['score']}")
        shutil.rmtree(root, ignore_errors=True)
