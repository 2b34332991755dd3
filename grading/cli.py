"""`python -m grading ...`: the instructor's grading commands."""
import argparse
import collections
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from grading import outputs, submissions, workers
from grading.judge import CLASSES

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in how the command was called: said plainly, exit status 2."""


# --- grading in worker processes ------------------------------------------------

def _grade_path(path, name, seed, timeout, **grade_options):
    """Runs in a worker process: load, grade, and never raise. `grade_options` go to
    `grader.grade` as they are."""
    sub = submissions.Submission(name, Path(path))
    try:
        sub = submissions.load(path, name)
        if not sub.sources:
            return outputs.for_gradescope(outputs.not_graded(sub, _class_max()), sub)
        from grading import grader
        results = grader.grade(sub, seed=seed, timeout=timeout, **grade_options)
    except Exception as exc:  # a grader bug must cost one submission, not the run
        results = _ungraded(sub, f"the grader failed on this submission ({type(exc).__name__}: {exc})")
    return outputs.for_gradescope(results, sub)


def _class_max():
    from grading.judge.engine import load_rubric
    return {c: float(sum(t["points"] for t in tests.values()))
            for c, tests in load_rubric().items() if c in CLASSES}


def _ungraded(sub, why):
    return {"score": 0.0, "execution_time": 0.0, "output": why, "tests": [],
            "kata": {"submission": sub.name, "status": "grader error", "error": why,
                     "classes": {}, "notes": sub.notes}}


def _unique_names(paths):
    """Folder names in --out: unique, inside it, never the grader's own files."""
    return outputs.output_names(submissions.name_for(p) for p in paths)


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
            self.bar.update(self.task, advance=1, description=f"done: {name}")
        elif self.done == self.total or self.done % max(1, self.total // 20) == 0:
            print(f"{self.done}/{self.total} done (last: {name}, {score:g})", file=sys.stderr)

    def stop(self):
        if self.bar is not None:
            self.bar.stop()


def grade_all(paths, out, jobs, timeout, seed=None, **grade_options):
    """Grade every path into out/<name>/results.json; returns {name: results}.

    Each submission has a placeholder results.json ("not graded") until its verdict
    replaces it. On Ctrl-C or SIGTERM the workers are killed at once and the
    submissions not graded keep their placeholder (status "not graded: interrupted")."""
    names = _unique_names(paths)
    sources = dict(zip(names, paths))
    results = {}
    progress = _Progress(len(paths))
    tasks = {name: ((str(path), name, seed, timeout), grade_options) for name, path in sources.items()}
    try:
        for name, path in sources.items():
            outputs.write_json(out / name / "results.json", outputs.placeholder(name, path))
        with workers.Workers(jobs, _grade_path) as pool:
            for name, result in pool.run(tasks):
                if isinstance(result, workers.WorkerDied):
                    sub = submissions.Submission(name, sources[name])
                    result = outputs.for_gradescope(_ungraded(sub, "the grader's worker died"), sub)
                results[name] = result
                outputs.write_json(out / name / "results.json", result)
                progress.advance(name, result["score"])
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not cut the clean-up
        for name, path in sources.items():
            results.setdefault(name, outputs.placeholder(name, path))
    except Exception as exc:   # the pool itself failed (no processes left?): keep what was graded
        print(f"error: grading stopped ({type(exc).__name__}: {exc})", file=sys.stderr)
        for name, path in sources.items():
            if name not in results:
                sub = submissions.Submission(name, Path(path))
                results[name] = outputs.for_gradescope(_ungraded(sub, f"not graded: {exc}"), sub)
                outputs.write_json(out / name / "results.json", results[name])
    finally:
        progress.stop()
        # The workers were killed without a clean-up of their own: their sandboxes'
        # cgroups go now (a grader killed by SIGKILL leaves them to the next run's sweep).
        from grading.sandbox import cgroup
        cgroup.sweep()
    return results


def print_summary(results, out):
    """The grade table: fitted to the terminal, plain columns when piped."""
    header = ["submission", *CLASSES, "total", "status"]
    rows = []
    for name in sorted(results):
        classes = results[name]["kata"].get("classes", {})
        rows.append([name] + [f"{classes[c]['score']:g}" if c in classes else "-" for c in CLASSES]
                    + [f"{results[name]['score']:g}", outputs.status_of(results[name])])
    try:
        if not sys.stdout.isatty():
            raise ImportError   # piped: plain lines that grep, cut and less take as they are
        from rich.console import Console
        from rich.table import Table
        table = Table(title=f"{len(results)} submissions")
        for column in header:
            numeric = column in CLASSES or column == "total"
            table.add_column(column, justify="right" if numeric else "left",
                             overflow="fold", no_wrap=numeric)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    except ImportError:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for row in [header, *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    counts = collections.Counter(outputs.status_of(r) for r in results.values())
    print(f"{len(results)} submission{'s' if len(results) != 1 else ''}: "
          + ", ".join(f"{n} {status}" for status, n in counts.most_common()))
    print(f"results: {out}/<submission>/results.json, table: {out}/{outputs.GRADES}")


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


def _inside(path, folder):
    return path == folder or folder in path.parents


def check_out(out, paths):
    """--out is usable, before anything is graded: a folder (made if missing) we can write
    to, apart from every submission folder; an older grades.csv there is removed, so that
    it never looks like this run's."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder: give a folder (it is made if missing)")
    where = out.resolve()
    for path in paths:
        if not path.is_dir():
            continue
        folder = path.resolve()
        if _inside(where, folder):
            raise UsageError(f"--out {out} is inside the submission {path}: "
                             "choose a folder outside the submissions")
        if _inside(folder, where):
            raise UsageError(f"the submission {path} is inside --out {out}: "
                             "choose another --out (results would be written into it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc}); "
                         "choose a folder you can write to") from None
    grades = out / outputs.GRADES
    if grades.is_dir() and not grades.is_symlink():
        raise UsageError(f"--out {out} holds a folder named {outputs.GRADES} (left by an older "
                         "grader?): move it away, the grader writes that file")
    if grades.exists() or grades.is_symlink():
        grades.unlink()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_grade(args):
    paths = [Path(p) for p in args.submissions]
    out = Path(args.out)
    check_out(out, paths)
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        print(f"note: {len(missing)} {'path does' if len(missing) == 1 else 'paths do'} not exist; "
              "each gets a result that says so: "
              + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""), file=sys.stderr)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) != signal.SIG_IGN:   # nohup stays nohup
            signal.signal(signum, _raise_interrupt)      # handled like Ctrl-C
    _choose_sandbox(args)
    started = time.monotonic()
    results = grade_all(paths, out, args.jobs, args.timeout, args.seed)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)   # the table is written whole, then the rest is said
    outputs.write_grades_csv(results, out / outputs.GRADES)
    stopped = sum(outputs.status_of(r) == outputs.NOT_GRADED for r in results.values())
    if not args.quiet:
        print_summary(results, out)
    if stopped:
        print(f"interrupted: {len(results) - stopped} of {len(results)} submissions graded; "
              f"{out / outputs.GRADES} lists all of them, the other {stopped} as "
              f"\"{outputs.NOT_GRADED}\"", file=sys.stderr)
        return 130
    if not args.quiet:
        seconds = time.monotonic() - started
        print(f"{len(results)} submission{'s' if len(results) != 1 else ''} in {seconds:.1f} s "
              f"({len(results) / seconds:.1f} per second)")
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
        print("interrupted before grading started: nothing was graded, no grades.csv written",
              file=sys.stderr)
        return 130
    except BrokenPipeError:   # the table piped into `head`: what was asked for was shown
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
