"""Children per submission: the classes of one file share a child while nothing goes wrong;
a class that crashes or times out leaves the next class a fresh one; none outlives grade()."""
from pathlib import Path

from grading import grader
from grading.catalogue import as_modules, reference_sources
from grading.judge import remote
from grading.submissions import Submission


class _Counted:
    """Counts the children the sandbox forks and ends while it is in force."""

    def __enter__(self):
        self.spawned, self.released = 0, 0
        self._spawn, self._release = remote.Sandbox._spawn, remote.Sandbox._release
        counter = self

        def spawn(sandbox, *args, **kwargs):
            counter.spawned += 1
            return counter._spawn(sandbox, *args, **kwargs)

        def release(sandbox, *args, **kwargs):
            counter.released += 1
            return counter._release(sandbox, *args, **kwargs)

        remote.Sandbox._spawn, remote.Sandbox._release = spawn, release
        return self

    def __exit__(self, *exc):
        remote.Sandbox._spawn, remote.Sandbox._release = self._spawn, self._release


def _grade(sources):
    with _Counted() as counted:
        results = grader.grade(Submission("sharing", Path("."), sources), timeout=3)
    classes = {c: v["score"] for c, v in results["kata"]["classes"].items()}
    return classes, counted


def test_a_folder_submission_takes_two_children_and_leaves_none():
    classes, counted = _grade(as_modules(reference_sources()))
    assert classes == {"MatMul": 25, "Sigmoid": 25, "Affine": 25, "SGD": 25}
    assert (counted.spawned, counted.released) == (2, 2)     # layers.py, optimizer.py


def test_a_notebook_takes_one_child():
    files = reference_sources()
    cells = [files["layers.py"], files["optimizer.py"]]
    classes, counted = _grade({"notebook": cells})
    assert classes == {"MatMul": 25, "Sigmoid": 25, "Affine": 25, "SGD": 25}
    assert (counted.spawned, counted.released) == (1, 1)


def test_a_crash_leaves_the_next_class_a_fresh_child():
    sources = as_modules(reference_sources())
    backward = "    def backward(self, dout):\n"
    first = sources["layers"].index(backward)           # MatMul's, the first class
    sources["layers"] = (sources["layers"][:first + len(backward)]
                         + "        import os; os._exit(3)\n"
                         + sources["layers"][first + len(backward):])
    classes, counted = _grade(sources)
    assert classes["MatMul"] < 25
    assert classes["Sigmoid"] == classes["Affine"] == classes["SGD"] == 25
    assert (counted.spawned, counted.released) == (3, 3)


def test_state_left_by_one_class_stays_in_its_file():
    # What layers.py leaves in its process is there for all its classes (as in the
    # student's own test run), never for optimizer.py, nor for the next submission.
    mark = "\nimport builtins\nbuiltins.kata_mark = True\n"
    unmarked = "\nimport builtins\nassert not hasattr(builtins, 'kata_mark'), 'state leaked'\n"
    sources = as_modules(reference_sources())
    marking = {"layers": sources["layers"] + mark, "optimizer": sources["optimizer"] + unmarked}
    checking = {"layers": sources["layers"] + unmarked, "optimizer": sources["optimizer"]}
    for submission in (marking, checking):
        classes, _ = _grade(submission)
        assert classes == {"MatMul": 25, "Sigmoid": 25, "Affine": 25, "SGD": 25}
