"""Test setup for the kata: which code is tested, short messages, a summary.

Which implementation is tested: the folder holding layers.py and
optimizer.py, chosen by (first match wins)

    pytest --impl PATH        KATA_IMPL=PATH pytest        default: exercises/

A relative PATH is looked up from the current directory, then from the
repository root. The tests get the modules through the ``layers`` and
``optimizer`` fixtures below, so a broken layers.py only fails the
MatMul, Sigmoid and Affine tests, never the SGD ones.

PYTEST_DONT_REWRITE: there are no asserts here (saves start-up time).
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

# The arrays here are tiny: BLAS threads only cost start-up time (about
# 50 ms for OpenBLAS to start its thread pool when numpy is imported).
# Set before anything imports numpy; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:  # for "from gradcheck import ..." in any import mode
    sys.path.insert(0, str(TESTS))

from kata_guard import Failure  # noqa: E402  (needs the path above)
from kata_progress import CHECKS, ORDER, mark, next_step, status  # noqa: E402

# Test file -> class it checks; the order is the order to work in.
CLASS_OF_FILE = {
    "test_matmul.py": "MatMul",
    "test_sigmoid.py": "Sigmoid",
    "test_affine.py": "Affine",
    "test_sgd.py": "SGD",
}
MODULE_OF_CLASS = {"MatMul": "layers", "Sigmoid": "layers", "Affine": "layers", "SGD": "optimizer"}


class Kata:
    """What is under test: the folder and the two modules (or why not)."""

    folder: Path | None = None
    modules: dict = {}   # "layers" -> module
    errors: dict = {}    # "layers" -> "SyntaxError at line 3: ..."
    results: dict = {}   # class name -> list of (label, kind, detail), see kata_progress

    @classmethod
    def show(cls, name: str) -> str:
        """Path of an implementation file as the student would type it."""
        path = cls.folder / name
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return str(path)


class KataProblem(pytest.fail.Exception):
    """A failure that is about loading the code, not about its results."""

    def __init__(self, msg: str, kind: str):
        super().__init__(msg, pytrace=False)
        self.kind = kind


# ----------------------------------------------------------------------------
# Choosing and importing the implementation


def pytest_addoption(parser):
    parser.addoption(
        "--impl", metavar="PATH", default=None,
        help="folder with layers.py and optimizer.py to test "
             "(default: $KATA_IMPL, else exercises/)",
    )


def _resolve_folder(config) -> Path:
    given = config.getoption("--impl") or os.environ.get("KATA_IMPL") or "exercises"
    path = Path(given).expanduser()
    if not path.is_absolute():
        here = Path.cwd() / path
        path = here if here.is_dir() else ROOT / path
    return path.resolve()


def _import(name: str):
    """Import layers/optimizer from Kata.folder; return (module, error)."""
    filename = f"{name}.py"
    sys.modules.pop(name, None)  # never reuse a module from another folder
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # keep the student's folder clean
    try:
        module = importlib.import_module(name)
    except SyntaxError as exc:  # also IndentationError, TabError
        return None, f"{type(exc).__name__} at line {exc.lineno}: {exc.msg}"
    except (Exception, SystemExit) as exc:
        line = None
        tb = exc.__traceback__
        while tb is not None:
            if Path(tb.tb_frame.f_code.co_filename).name == filename:
                line = tb.tb_lineno
            tb = tb.tb_next
        where = f" at line {line}" if line else ""
        return None, f"{type(exc).__name__} while importing{where}: {exc}"
    finally:
        sys.dont_write_bytecode = saved
    found = Path(getattr(module, "__file__", "") or "").resolve()
    if found != (Kata.folder / filename).resolve():
        return None, f"Python imported {found} instead"
    return module, None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # Short tracebacks unless asked otherwise; no pseudo-tracebacks from
    # pytest-check (our messages say what is wrong).
    if config.option.tbstyle == "auto":
        config.option.tbstyle = "short"
    if getattr(config.option, "check_max_tb", None) == 1:
        config.option.check_max_tb = 0

    folder = _resolve_folder(config)
    if not folder.is_dir():
        pytest.exit(
            f"kata: implementation folder not found: {folder}\n"
            "Set KATA_IMPL or --impl to the folder holding layers.py and optimizer.py.",
            returncode=4,
        )
    missing = [f for f in ("layers.py", "optimizer.py") if not (folder / f).is_file()]
    if missing:
        pytest.exit(
            f"kata: {', '.join(missing)} not found in {folder}\n"
            "The folder must hold both layers.py and optimizer.py.",
            returncode=4,
        )
    Kata.folder = folder
    Kata.modules, Kata.errors, Kata.results = {}, {}, {}
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    for name in ("layers", "optimizer"):
        module, error = _import(name)
        if module is not None:
            Kata.modules[name] = module
        else:
            Kata.errors[name] = error


def pytest_report_header(config):
    if Kata.folder is not None:
        return (f"kata: testing {Kata.show('layers.py')} and {Kata.show('optimizer.py')}"
                " (choose another folder with --impl or KATA_IMPL)")


class _Module:
    """Gives the tests the classes of one module, or a clear failure."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, cls: str):
        filename = f"{self._name}.py"
        if self._name in Kata.errors:
            raise KataProblem(
                f"{Kata.show(filename)} does not load, fix it first: "
                f"{Kata.errors[self._name]}\n{Kata.show(filename)}를 불러올 수 없습니다. 먼저 고치세요",
                "load",
            )
        module = Kata.modules[self._name]
        if hasattr(module, cls):
            return getattr(module, cls)
        names = [n for n in vars(module) if n.lower() == cls.lower()]
        found = f"; found class {names[0]}" if names else ""
        raise KataProblem(
            f"{Kata.show(filename)} has no class {cls}: check the spelling of "
            f"'class {cls}:' (it is case-sensitive){found}\n"
            f"{Kata.show(filename)}에 class {cls}가 없습니다. 철자(대소문자)를 확인하세요",
            "missing",
        )


@pytest.fixture
def layers():
    """The layers module under test (layers.MatMul, layers.Affine, ...)."""
    return _Module("layers")


@pytest.fixture
def optimizer():
    """The optimizer module under test (optimizer.SGD)."""
    return _Module("optimizer")


# ----------------------------------------------------------------------------
# Short failure messages: the checks (kata_checks, kata_guard) word them; here they are
# shown without traceback and recorded for the summary.


def _label(item) -> str:
    """'test_backward_gradient_check[db]' -> 'backward gradient check (db)'."""
    name = item.originalname.removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    return f"{name} ({callspec.id})" if callspec else name


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Record each result for the summary and shorten what is shown.

    kind: pass, fail, todo (a stub), timeout, mutation, load (the module does not
    import) or missing (no such class); see kata_progress.
    """
    report = yield
    cls = CLASS_OF_FILE.get(item.path.name)
    if cls is None or item.path.parent != TESTS or report.skipped:
        return report
    if call.when != "call":
        if report.failed:  # trouble in setup or teardown
            Kata.results.setdefault(cls, []).append((_label(item), "fail", f"error in {call.when}"))
        return report
    kind, detail = "pass", ""
    if report.failed:
        exc = call.excinfo.value if call.excinfo is not None else None
        if isinstance(exc, Failure):
            kind, detail = exc.kind, exc.detail
            report.longrepr = str(exc)
        elif isinstance(exc, KataProblem):
            kind, detail = exc.kind, exc.msg.splitlines()[0]
        else:  # a check met an answer too odd for it: keep pytest's short traceback
            kind, detail = "fail", type(exc).__name__ if exc is not None else "error"
    Kata.results.setdefault(cls, []).append((_label(item), kind, detail))
    return report


# ----------------------------------------------------------------------------
# Per-class summary (worded by kata_progress, as the notebook's)


def _rerun(cls: str) -> str:
    file = next(f for f, c in CLASS_OF_FILE.items() if c == cls)
    return f"rerun with  pytest tests/{file}"


def _where(cls: str) -> str:
    return Kata.show(MODULE_OF_CLASS[cls] + ".py")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # A wrapper around pytest's own summary, so that this comes last,
    # right above the final "N passed, M failed" line. Every class is listed:
    # one that did not run (a -k filter, one file, Ctrl-C) says so.
    yield
    if Kata.folder is None:
        return
    tr = terminalreporter
    tr.write_sep("=", "kata progress")
    width = max(len(c) for c in ORDER)
    table = []
    for cls in ORDER:
        results = Kata.results.get(cls, [])
        if not results and MODULE_OF_CLASS[cls] in Kata.errors:
            error = Kata.errors[MODULE_OF_CLASS[cls]]
            results = [("load", "load", f"fix {_where(cls)} so that it loads: {error}")]
        table.append((cls, results, len(CHECKS[cls])))
        ok, text = status(cls, results, len(CHECKS[cls]))
        tr.write_line(f"{cls:<{width}}  {mark(ok, sys.stdout)} {text}", green=ok, red=not ok)
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        tr.write_line("interrupted: the classes and checks marked 'not run' did not run",
                      yellow=True)
    tr.write_line(f"Next: {next_step(table, _where, _rerun)}", bold=True)


def pytest_collection_modifyitems(session, config, items):
    """Run (and list failures) in the order to work in: MatMul first."""
    rank = {name: i for i, name in enumerate(CLASS_OF_FILE)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
