"""One submission in, one Gradescope results dict out.

The submission's code runs in the sandbox (`grading.judge.remote`); the hidden suites,
their data and the scores stay in this process.
"""
import multiprocessing.util
import os
import time

from grading.judge import CLASSES, FILE_OF, seed_for
from grading.judge.engine import load_rubric, run_suites

_sandbox = None


def sandbox(timeout=10.0, class_budget=None, submission_budget=None):
    """This process's sandbox, started on first use and kept for the next submissions
    (each file of each submission still gets a fresh child with fresh namespaces)."""
    global _sandbox
    if _sandbox is None:
        from grading.judge import remote
        # --class-budget and --submission-budget reach the workers as KATA_*_BUDGET.
        env = os.environ.get
        _sandbox = remote.Sandbox(
            timeout=timeout,
            class_budget=class_budget or float(env("KATA_CLASS_BUDGET") or remote.CLASS_BUDGET),
            submission_budget=submission_budget or float(
                env("KATA_SUBMISSION_BUDGET") or remote.SUBMISSION_BUDGET))
        # At this process's exit, multiprocessing's exit handler stops the server and
        # removes its cgroup (a grading worker is killed instead: cli.grade_all sweeps).
        multiprocessing.util.Finalize(_sandbox, _sandbox.close, exitpriority=10)
    return _sandbox


def sources_for(sources, cls):
    """The part of a submission's sources that `cls` needs (a notebook is one whole).

    A class is judged with its own file only, so an os._exit() at the top of layers.py
    cannot cost SGD its points."""
    module = FILE_OF[cls].removesuffix(".py")
    if module in sources:
        return {module: sources[module]}
    return sources


def grade(sub, seed=None, timeout=10.0, classes=CLASSES, rubric=None, class_budget=None,
          submission_budget=None):
    """Grade a loaded `Submission`: a results dict in Gradescope's format (plus a few
    fields of our own under `kata`). Budgets in wall-clock seconds (None: the defaults of
    grading.judge.remote): a class's tests together, and the whole submission."""
    started = time.monotonic()
    seed = seed_for(sub.name) if seed is None else seed
    the_sandbox = sandbox(timeout, class_budget, submission_budget)
    # The budget counts the submission's time, not the sandbox's start (first one only).
    deadline = time.monotonic() + the_sandbox.submission_budget
    subjects = []

    def make_subject(cls):
        # Classes of one file share a child while nothing goes wrong (grading.judge.child).
        sources = sources_for(sub.sources, cls)
        sharing = sum(sources_for(sub.sources, c) == sources for c in classes)
        subjects.append(the_sandbox.subject(sources, deadline, keep=True, cpu_share=sharing,
                                            previous=subjects[-1] if subjects else None))
        return subjects[-1]

    try:
        verdict = run_suites(make_subject, seed, classes, rubric or load_rubric())
    finally:
        for subject in subjects:
            subject.finish()
    printed = "".join(getattr(s, "output", "") or "" for s in subjects).strip()
    results = results_json(sub, verdict, time.monotonic() - started, the_sandbox.isolation, printed)
    results["kata"]["sandbox"] = the_sandbox.describe()     # the run's header, for the record
    return results


def results_json(sub, verdict, seconds, isolation, printed=""):
    class_scores = verdict.class_scores()
    class_max = {c: 0.0 for c in CLASSES}
    tests = []
    counters = {}
    for r in sorted(verdict.results, key=lambda r: CLASSES.index(r.cls)):
        class_max[r.cls] += r.max_score
        counters[r.cls] = counters.get(r.cls, 0) + 1
        tests.append({
            "name": r.name, "score": r.score, "max_score": r.max_score,
            "status": "passed" if r.passed else "failed",
            "output": r.output if not r.passed else "",
            "visibility": "visible",
            "number": f"{CLASSES.index(r.cls) + 1}.{counters[r.cls]}",
        })
    graded = [c for c in CLASSES if class_max[c]]
    lines = [f"{c}: {class_scores[c]:g} / {class_max[c]:g}" for c in graded]
    lines += [f"Note: {n}" for n in sub.notes]
    if printed:
        lines.append("Your code printed (first lines):\n" + printed[:1500])
    lines.append(f"(data seed {verdict.seed}; isolation: {isolation})")
    return {
        "score": round(sum(class_scores[c] for c in graded), 6),
        "execution_time": round(seconds, 3),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "kata": {"submission": sub.name, "seed": verdict.seed, "isolation": isolation,
                 "classes": {c: {"score": class_scores[c], "max_score": class_max[c]}
                             for c in graded},
                 "notes": sub.notes,
                 "failing": [f"{r.cls}.{r.test_id}" for r in verdict.results if not r.passed]},
    }
