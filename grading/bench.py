"""Timing figures, printed (never asserted): `python -m grading.bench [--corpus N]`.

1. the public suite on the reference against a trivial pytest run in the same venv;
2. a fresh Python process importing numpy (the floor for any per-submission process);
3. what each safeguard of the sandbox costs: the fork server's start (bubblewrap or not),
   a cgroup made and removed, a child with fresh namespaces and a dropped uid against one
   without;
4. the grader's throughput on a generated corpus: reference copies, catalogue mistakes
   and untouched stubs.
The machine may be shared: every figure is a median, and still noisy under load.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(cmd, **kwargs):
    start = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def public_suite(repeat):
    """Median wall times, the two commands taking turns so that load drifts hit both."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_trivial.py").write_text("def test_trivial():\n    assert True\n")
        env = dict(os.environ, KATA_IMPL="solutions")
        trivial, kata = [], []
        for _ in range(repeat):
            trivial.append(wall([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tmp]))
            kata.append(wall([sys.executable, "-m", "pytest", "tests", "-q"], cwd=ROOT, env=env))
    t, k = statistics.median(trivial), statistics.median(kata)
    print(f"public suite on solutions: {k:.3f} s, trivial pytest run: {t:.3f} s (medians of "
          f"{repeat}, alternating); ratio {k / t:.2f} (aim: <= 1.30)")


def numpy_floor(repeat):
    floor = statistics.median(wall([sys.executable, "-c", "import numpy"]) for _ in range(repeat))
    print(f"fresh python + numpy import: {floor:.3f} s per process (the floor per submission)")
    return floor


def _median_seconds(action, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def safeguards(repeat):
    """One line per safeguard: what it adds, in milliseconds (medians of `repeat`)."""
    import numpy as np
    from grading.judge import remote
    from grading.sandbox import cgroup, server

    def one_child(sandbox):
        subject = sandbox.subject({"layers": "class MatMul:\n    def __init__(self, W):\n"
                                             "        self.W = W\n"})
        subject.new("MatMul", np.eye(2))
        subject.close()

    print(remote.header())
    for mode in ("bwrap", "off"):
        if mode == "bwrap" and not remote.bwrap_available():
            continue
        start = _median_seconds(lambda: server.start(mode, 1 << 30).stop(), max(3, repeat // 3))
        with remote.Sandbox(mode=mode) as sandbox:
            fresh = _median_seconds(lambda: one_child(sandbox), repeat)
            spec = server.isolation_spec
            server.isolation_spec = lambda kind: None        # the old design: no isolation
            try:
                plain = _median_seconds(lambda: one_child(sandbox), repeat)
            finally:
                server.isolation_spec = spec
        print(f"  KATA_SANDBOX={mode}: fork server start {start * 1000:.0f} ms (once per worker); "
              f"a child with fresh mount+IPC namespaces, read-only remount, uid drop: "
              f"{fresh * 1000:.1f} ms, without: {plain * 1000:.1f} ms "
              f"(+{(fresh - plain) * 1000:.1f} ms per child; a submission takes two, "
              "a notebook one)")
    if cgroup.mode() != "none":
        made = _median_seconds(lambda: cgroup.Group(1 << 30, 64).remove(), repeat)
        print(f"  cgroup {cgroup.mode()} made and removed: {made * 1000:.1f} ms (once per worker)")


def corpus(folder, size):
    """Write `size` submissions: a third reference copies, then mistakes, then stubs."""
    from grading.catalogue import load_catalogue, reference_sources, stub_sources, variant_sources
    reference, stubs = reference_sources(), stub_sources()
    mistakes, _ = load_catalogue()
    paths = []
    for i in range(size):
        kind = i % 3
        if kind == 0:
            files, name = reference, f"ref-{i:03d}"
        elif kind == 1:
            entry = mistakes[i % len(mistakes)]
            files, name = variant_sources(entry, reference), f"mistake-{i:03d}-{entry.id}"
        else:
            files, name = stubs, f"stub-{i:03d}"
        path = Path(folder, name)
        path.mkdir()
        for f, text in files.items():
            (path / f).write_text(text)
        paths.append(path)
    return paths


def throughput(size, jobs, runs):
    """Submissions per second of `python -m grading grade` on the corpus: each run, then the
    median (this machine's speed drifts by a fifth from one minute to the next)."""
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = corpus(Path(tmp, "subs").mkdir() or Path(tmp, "subs"), size)
        for run in range(runs):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "grading", "grade", *map(str, paths),
                                   "--out", str(Path(tmp, f"out-{run}")), "--jobs", str(jobs),
                                   "--quiet"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
            rates.append(size / (time.perf_counter() - start))
            if done.returncode != 0:
                sys.exit(f"grader: the run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    print(f"grader: {size} submissions with --jobs {jobs}, {runs} runs: "
          + ", ".join(f"{r:.1f}" for r in rates) + f" submissions/s; median "
          f"{statistics.median(rates):.1f} (aim: >= 10; a fresh child per submission file, "
          "one fork server per worker)")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--corpus", type=int, default=210, help="submissions in the grader corpus")
    p.add_argument("--repeat", type=int, default=15, help="repetitions of each timed command")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--runs", type=int, default=3, help="grader runs on the corpus (median shown)")
    p.add_argument("--parts", default="public,floor,safeguards,throughput",
                   help="which figures, comma-separated (default: all)")
    args = p.parse_args()
    parts = args.parts.split(",")
    if "public" in parts:
        public_suite(args.repeat)
    if "floor" in parts:
        numpy_floor(args.repeat)
    if "safeguards" in parts:
        safeguards(args.repeat)
    if "throughput" in parts:
        throughput(args.corpus, args.jobs, args.runs)


if __name__ == "__main__":
    main()
