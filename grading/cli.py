"""`python -m grading ...`: the instructor's grading commands."""
import argparse
import concurrent.futures as futures
import csv
import json
import os
import re
import sys
import time
from pathlib import Path

from grading import submissions
from grading.judge import CLASSES

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in how the command was called: said plainly, exit status 2."""


# --- grading in worker processes ------------------------------------------------

def _grade_path(path, name, seed, timeout):
    """Runs in a worker process: load, grade, and never raise."""
    from grading import grader
    sub = submissions.load(path, name)
    try:
        return grader.grade(sub, seed=seed, timeout=timeout)
    except Exception as exc:  # a grader bug must cost one submission, not the run
        return _ungraded(sub, f"the grader failed on this submission ({type(exc).__name__}: {exc})")


def _ungraded(sub, why):
    return {"score": 0.0, "execution_time": 0.0, "output": why, "tests": [],
            "kata": {"submission": sub.name, "error": why, "classes": {}, "notes": sub.notes}}


def _unique_names(paths):
    names, seen = [], {}
    for p in paths:
        base = re.sub(r"[^\w.@+-]", "_", submissions.name_for(p)) or "submission"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


class _Progress:
    """A rich progress bar when rich is there and stderr is a terminal, else plain lines."""

    def __init__(self, total):
        self.total, self.done = total, 0
        self.bar = None
        try:
            from rich.progress import Progress
            self.bar = Progress(transient=False, disable=not sys.stderr.isatty())
            self.task = self.bar.add_task("grading", total=total)
            self.bar.start()
        except ImportError:
            pass

    def advance(self, name, score):
        self.done += 1
        if self.bar is not None and not self.bar.disable:
            self.bar.update(self.task, advance=1, description=f"graded {name}")
        elif self.done == self.total or self.done % max(1, self.total // 20) == 0:
            print(f"graded {self.done}/{self.total} (last: {name}, {score:g})", file=sys.stderr)

    def stop(self):
        if self.bar is not None:
            self.bar.stop()


def grade_all(paths, out, jobs, timeout, seed=None):
    """Grade every path into out/<name>/results.json; returns {name: results}."""
    names = _unique_names(paths)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    progress = _Progress(len(paths))
    pending = list(zip(paths, names))
    try:
        # A broken pool (a worker killed from outside) is rebuilt once for what is left.
        for attempt in range(2):
            with futures.ProcessPoolExecutor(max_workers=jobs) as pool:
                running = {pool.submit(_grade_path, str(p), n, seed, timeout): (p, n)
                           for p, n in pending if n not in results}
                try:
                    for done in futures.as_completed(running):
                        _, name = running[done]
                        results[name] = done.result()
                        _write_json(out / name / "results.json", results[name])
                        progress.advance(name, results[name]["score"])
                except futures.process.BrokenProcessPool:
                    if attempt:
                        raise
    except futures.process.BrokenProcessPool:
        for p, n in pending:
            if n not in results:
                results[n] = _ungraded(submissions.Submission(n, Path(p)), "the grader's worker died")
                _write_json(out / n / "results.json", results[n])
    finally:
        progress.stop()
    return results


def _write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)   # never a half-written results file


def write_grades_csv(results, path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *CLASSES, "total", "max", "status"])
        for name in sorted(results):
            r = results[name]
            classes = r["kata"].get("classes", {})
            row = [classes.get(c, {}).get("score", "") for c in CLASSES]
            maximum = sum(v["max_score"] for v in classes.values())
            status = "error: " + r["kata"]["error"] if r["kata"].get("error") else "graded"
            writer.writerow([name, *row, r["score"], maximum, status])


def print_summary(results, out):
    rows = []
    for name in sorted(results):
        classes = results[name]["kata"].get("classes", {})
        rows.append([name] + [f"{classes[c]['score']:g}" if c in classes else "-" for c in CLASSES]
                    + [f"{results[name]['score']:g}"])
    header = ["submission", *CLASSES, "total"]
    try:
        from rich.console import Console
        from rich.table import Table
        table = Table(*header, title=f"{len(results)} submissions graded")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    except ImportError:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for row in [header, *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    print(f"results: {out}/<submission>/results.json, table: {out}/grades.csv")


def _choose_sandbox(args=None):
    """Try bubblewrap once, here: without it, say so once (not once per worker) and let
    the workers go straight to process limits. Refuse where a child could not drop its
    uid, unless --allow-unsandboxed; print the sandbox header; budgets go to the workers
    through the environment."""
    from grading.judge import remote
    if args is not None:
        for option, name in ((args.class_budget, "KATA_CLASS_BUDGET"),
                             (args.submission_budget, "KATA_SUBMISSION_BUDGET")):
            if option is not None and option <= 0:
                raise UsageError(f"budgets are seconds above 0, not {option:g}")
            if option is not None:
                os.environ[name] = str(option)
        if args.allow_unsandboxed:
            os.environ["KATA_ALLOW_UNSANDBOXED"] = "1"
    mode = os.environ.get("KATA_SANDBOX", "auto")
    if mode == "auto" and not remote.bwrap_available():
        print(f"{remote.WARNING} ({remote.bwrap_problem()})", file=sys.stderr)
        os.environ["KATA_SANDBOX"] = mode = "off"
    problem = remote.unsandboxed_problem(mode)
    if problem:
        raise UsageError(problem)
    print(remote.header(mode), file=sys.stderr)


def cmd_grade(args):
    paths = [Path(p) for p in args.submissions]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError("no such file or folder: " + ", ".join(missing))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    _choose_sandbox(args)
    started = time.monotonic()
    results = grade_all(paths, out, args.jobs, args.timeout, args.seed)
    write_grades_csv(results, out / "grades.csv")
    if not args.quiet:
        print_summary(results, out)
        seconds = time.monotonic() - started
        print(f"{len(results)} graded in {seconds:.1f} s ({len(results) / seconds:.1f} per second)")
    return 1 if any(r["kata"].get("error") for r in results.values()) else 0


def cmd_nbcell(args):
    """One class of the notebook in the current folder: the nbgrader test cell's verdict.

    The first of a notebook's four test cells grades all four classes and caches the
    verdicts; the other cells read them (see grading/course/nbcell.py, also for why a
    cache the student's kernel could forge adds no new way to cheat).
    """
    from grading.course import nbcell
    path = Path(args.notebook) if args.notebook else None
    if path is None:
        found = sorted(p for p in Path.cwd().glob("*.ipynb"))
        if len(found) != 1:
            raise UsageError(f"expected one notebook in {Path.cwd()}, found {len(found)}")
        path = found[0]
    verdicts, _ = nbcell.verdicts_for(path, seed=args.seed, timeout=args.timeout,
                                      use_cache=not args.no_cache)
    print(json.dumps(verdicts[args.cls]))
    return 0


def parser():
    p = argparse.ArgumentParser(prog="python -m grading", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade folders, zips or notebooks")
    g.add_argument("submissions", nargs="+", metavar="SUB",
                   help="a folder with layers.py and optimizer.py, a zip, or a notebook")
    g.add_argument("--out", required=True, help="folder for <name>/results.json and grades.csv")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: all cores)")
    g.add_argument("--timeout", type=float, default=10.0,
                   help="seconds one call into student code may take (default 10)")
    g.add_argument("--seed", type=int, default=None,
                   help="data seed for every submission (default: derived from its name)")
    g.add_argument("--class-budget", type=float, default=None, metavar="S",
                   help="wall-clock seconds for all tests of one class (default 30); "
                        "the tests not reached score 0")
    g.add_argument("--submission-budget", type=float, default=None, metavar="S",
                   help="wall-clock seconds for a whole submission (default 60)")
    g.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade even where no sandbox can keep the code from your files "
                        "(no bubblewrap and not root): only for submissions you trust")
    g.add_argument("--quiet", action="store_true", help="no table at the end")
    g.set_defaults(run=cmd_grade)
    n = sub.add_parser("nbcell", help="(used by the notebook's hidden test cells)")
    n.add_argument("cls", choices=CLASSES)
    n.add_argument("--notebook", help="default: the one notebook in the current folder")
    n.add_argument("--seed", type=int, default=None)
    n.add_argument("--timeout", type=float, default=10.0)
    n.add_argument("--no-cache", action="store_true",
                   help="grade afresh and leave the nbcell cache alone")
    n.set_defaults(run=cmd_nbcell)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return USAGE_ERROR
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("interrupted: results written so far are kept", file=sys.stderr)
        return 130
