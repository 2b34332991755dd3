"""Runs the hidden suites against one submission and turns pytest's reports into scores.

pytest runs in this (the judge's) process; the student's objects live behind a `Subject`.
One pytest module grades one class, and each module gets its own subject, so a class
that hangs or crashes costs that class only.
"""
import functools
import os
import re
import threading
try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from grading.judge import CLASSES, session
from grading.judge.subject import StudentError

SUITES = Path(__file__).parent / "suites"
RUBRIC = Path(__file__).parent.parent / "rubric.toml"
MODULE_OF = {"MatMul": "test_matmul.py", "Sigmoid": "test_sigmoid.py",
             "Affine": "test_affine.py", "SGD": "test_sgd.py"}


# Built-in pytest plugins the hidden suites never use: each costs time on every run.
_UNUSED_PLUGINS = [arg for name in ("doctest", "junitxml", "pastebin", "logging", "faulthandler",
                                    "stepwise", "threadexception", "legacypath", "tmpdir",
                                    "monkeypatch", "recwarn", "capture", "setuponly", "setupplan",
                                    "skipping", "subtests", "unittest", "debugging")
                   for arg in ("-p", f"no:{name}")]


_rubrics = {}


def load_rubric(path=RUBRIC):
    """{class: {test function: {"name": str, "points": float, "needs": [test function]}}}
    from rubric.toml ("needs" is optional). Parsed again only when the file changed: the
    grader reads it for every submission. Treat the answer as read-only."""
    with open(path, "rb") as f:
        info = os.fstat(f.fileno())
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        cached = _rubrics.get(str(path))
        if cached is None or cached[0] != key:
            cached = _rubrics[str(path)] = (key, tomllib.load(f))
    return cached[1]


def _gate_note(names):
    """Why a property test that passed on its own earns nothing (see rubric.toml)."""
    listed = "; ".join(f'"{n}"' for n in names)
    return ("- not scored: this property counts only when the values it relies on are right, "
            f"and {listed} failed: fix that first\n"
            "- 점수 없음: 이 성질은 그것이 기대는 값이 맞을 때만 점수가 됩니다. 먼저 "
            f"{listed} 를 고치세요")


def apply_needs(results, rubric):
    """Points only for working maths: a test whose `needs` (tests of its class, followed
    through chains) did not all pass scores nothing, with a note saying which ones."""
    by_test = {(r.cls, r.test_id): r for r in results}

    def failed_needs(r, seen=()):
        failed = []
        for need in rubric.get(r.cls, {}).get(r.test_id, {}).get("needs", []):
            other = by_test.get((r.cls, need))
            if other is None or need in seen:
                continue
            if not other.passed:
                failed.append(other)
            failed += failed_needs(other, seen + (r.test_id,))
        return failed

    gated = [(r, failed_needs(r)) for r in results]
    for r, failed in gated:
        if failed and r.passed:
            names = []
            for f in failed:
                if f.name not in names:
                    names.append(f.name)
            r.passed, r.output = False, _gate_note(names)


@dataclass
class TestResult:
    cls: str
    test_id: str
    name: str
    max_score: float
    passed: bool = False
    output: str = ""

    @property
    def score(self):
        return self.max_score if self.passed else 0.0


@dataclass
class Verdict:
    """What one submission earned, test by test."""
    seed: int
    results: list = field(default_factory=list)

    def class_scores(self):
        scores = {cls: 0.0 for cls in CLASSES}
        for r in self.results:
            scores[r.cls] += r.score
        return scores


def _failure_text(report, excinfo):
    """The student-facing reason a test failed: check messages and the raised error only."""
    lines = []
    # pytest-check colours its lines when FORCE_COLOR or PY_COLORS is set (a Jupyter
    # kernel's environment may set them): the escape codes would hide the "FAILURE: ".
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(report.longrepr or ""))
    for line in text.splitlines():
        if line.startswith("FAILURE: "):
            lines.append("- " + line[len("FAILURE: "):].strip())
    if excinfo is not None:
        exc = excinfo.value
        if isinstance(exc, StudentError):
            lines.append(f"- your code raised {exc}")
        elif isinstance(exc, AssertionError):
            # pytest's rewritten assertion adds "assert ..." lines: keep our message only.
            lines.append("- " + str(exc).split("\nassert ")[0].strip())
        else:
            lines.append(f"- the grader failed on this test ({type(exc).__name__}: {exc}); "
                         "please tell the instructor")
    return "\n".join(lines) or "- failed"


@functools.lru_cache(maxsize=None)
def _class_of(suite_file):
    name = Path(suite_file).name
    return next(c for c, m in MODULE_OF.items() if name == m)


def _plain_failure(excinfo):
    """An item's failure report without a traceback (see _KataPlugin.pytest_collection_modifyitems)."""
    return f"{excinfo.typename}: {excinfo.value}"


class _KataPlugin:
    """Fixtures for the hidden suites, and the collector of their reports. One instance
    lives as long as the process's pytest session (grading.judge.session); `begin` gives
    it each submission's subject maker, seed and rubric."""

    def __init__(self):
        self.errors = []         # collection errors: the session then ends
        self.item = None         # the test being set up (see pytest_runtest_setup)
        self.begin(None, 0, {})

    def begin(self, make_subject, seed, rubric):
        # Not `self.seed`: pytest looks fixtures up on the instance, and an int attribute
        # named like the `seed` fixture below would hide it (INTERNALERROR at registration).
        self.make_subject, self.data_seed, self.rubric = make_subject, seed, rubric
        self.results = {}

    @staticmethod
    def class_of(item):
        return _class_of(str(item.path))

    def pytest_configure(self, config):
        # Failure text comes from the checks' messages, never from pytest's tracebacks;
        # its default long format parses the suites' source for every failure (~20 ms each).
        config.option.tbstyle = "value"

    def pytest_collection_modifyitems(self, items):
        # The same for a failing test itself: its report is the error's one line, and
        # pytest does not walk the traceback at all (about 1 ms per failed test).
        for item in items:
            item.repr_failure = _plain_failure

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        # The item whose fixtures are set up next. The fixtures below read it here rather
        # than through pytest's `request`, which pytest builds anew for every use.
        self.item = item

    @pytest.fixture(scope="module")
    def subject(self):
        the_subject = self.make_subject(self.class_of(self.item))
        yield the_subject
        the_subject.close()

    @pytest.fixture
    def rng(self):
        # Per submission and per test: reruns reproduce, tests stay independent.
        return np.random.default_rng([self.data_seed, zlib.crc32(self.item.name.encode())])

    @pytest.fixture
    def seed(self):
        return self.data_seed

    def _result_for(self, item):
        cls = self.class_of(item)
        entry = self.rubric.get(cls, {}).get(item.name)
        if entry is None:
            raise KeyError(f"{cls}.{item.name} has no entry in rubric.toml")
        return self.results.setdefault(item.nodeid, TestResult(
            cls, item.name, entry["name"], float(entry["points"]), passed=True))

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        # Taken before the yield: when checks failed, pytest-check replaces call.excinfo
        # with an AssertionError of its own ("FAILURE: ..." lines, already collected from
        # the report), which would repeat the first check and hide what the test raised.
        raised = call.excinfo
        outcome = yield
        report = outcome.get_result()
        result = self._result_for(item)
        if report.failed and result.passed:
            result.passed = False
            result.output = _failure_text(report, raised)

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr))


_ARGS = [*(str(SUITES / m) for m in MODULE_OF.values()),
         # pytest-check is named, as every other plugin that pytest would find installed
         # (anyio, ...) is kept out: see _the_session.
         "-p", "pytest_check.plugin",
         "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:unraisableexception",
         *_UNUSED_PLUGINS, "--check-max-tb=0",
         # importlib mode from the repository root: the suites load as
         # grading.judge.suites.test_*, so they never take the module names
         # test_matmul, ... from the public tests/ run in the same process.
         "--import-mode=importlib",
         "--rootdir", str(SUITES.parents[2]), "-c", str(SUITES / "pytest.ini")]
_NO_AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
_session = None
_session_lock = threading.Lock()


def _the_session():
    """This process's pytest session (a new one after a fork or a failed job)."""
    global _session
    if _session is None or _session.broken or _session.pid != os.getpid():
        # Only pytest's own plugins and pytest-check judge: what else happens to be
        # installed here (plugins of jupyter's dependencies, say) must neither change a
        # verdict nor cost time on every test. pytest reads this while it starts (every
        # pytest 8 and 9 knows it); the environment is ours again once it has collected.
        previous = os.environ.get(_NO_AUTOLOAD)
        os.environ[_NO_AUTOLOAD] = "1"
        try:
            _session = session.Session(_ARGS, _KataPlugin())
        finally:
            if previous is None:
                os.environ.pop(_NO_AUTOLOAD, None)
            else:
                os.environ[_NO_AUTOLOAD] = previous
    return _session


def run_suites(make_subject, seed, classes=CLASSES, rubric=None):
    """Grade one submission: `make_subject(cls)` gives a fresh `Subject` for each class."""
    rubric = rubric or load_rubric()
    with _session_lock:
        the_session = _the_session()
        plugin = the_session.plugin
        plugin.begin(make_subject, seed, rubric)
        the_session.run(classes)
        results = list(plugin.results.values())
        plugin.begin(None, 0, {})              # the subjects are not kept alive
    verdict = Verdict(seed)
    apply_needs(results, rubric)
    for r in results:
        if not r.passed:
            r.output += f"\n(data seed {seed}: grading again with --seed {seed} repeats the same inputs)"
        verdict.results.append(r)
    return verdict
