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
import re
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

# Test file -> class it checks; the order is the order to work in.
CLASS_OF_FILE = {
    "test_matmul.py": "MatMul",
    "test_sigmoid.py": "Sigmoid",
    "test_affine.py": "Affine",
    "test_sgd.py": "SGD",
}
ORDER = list(CLASS_OF_FILE.values())
MODULE_OF_CLASS = {"MatMul": "layers", "Sigmoid": "layers", "Affine": "layers", "SGD": "optimizer"}
METHODS = {"MatMul": ["forward", "backward"], "Sigmoid": ["forward", "backward"],
           "Affine": ["forward", "backward"], "SGD": ["update"]}


class Kata:
    """What is under test: the folder and the two modules (or why not)."""

    folder: Path | None = None
    modules: dict = {}   # "layers" -> module
    errors: dict = {}    # "layers" -> "SyntaxError at line 3: ..."
    results: dict = {}   # class name -> list of (label, kind, detail, test name)

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
                f"{Kata.errors[self._name]}",
                "load",
            )
        module = Kata.modules[self._name]
        if hasattr(module, cls):
            return getattr(module, cls)
        names = [n for n in vars(module) if n.lower() == cls.lower()]
        found = f"; found class {names[0]}" if names else ""
        raise KataProblem(
            f"{Kata.show(filename)} has no class {cls}: check the spelling of "
            f"'class {cls}:' (it is case-sensitive){found}",
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
# Short failure messages


def _label(item) -> str:
    """'test_backward_gradient_check[db]' -> 'backward gradient check (db)'."""
    name = item.originalname.removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    return f"{name} ({callspec.id})" if callspec else name


def _kata_method(excinfo) -> str | None:
    """'Affine.forward': the innermost kata method in the traceback."""
    for entry in reversed(excinfo.traceback):
        obj = entry.locals.get("self")
        if obj is not None and type(obj).__name__ in METHODS:
            return f"{type(obj).__name__}.{entry.name}"
    return None


def _missing_attribute(exc: AttributeError) -> str | None:
    """Message for a kata object lacking params/grads/... (e.g. a typo)."""
    obj, name = getattr(exc, "obj", None), getattr(exc, "name", None)
    cls = type(obj).__name__
    if obj is None or name is None or cls not in METHODS:
        return None
    msg = f"{cls} has no attribute {name}"
    if name in ("params", "grads"):
        msg += f" — check the spelling in __init__ (it must set self.{name})"
    else:
        msg += f" — set self.{name} before it is used"
    import difflib  # only needed on this rare path

    close = difflib.get_close_matches(name, list(vars(obj)), n=1)
    if close:
        msg += f"; found self.{close[0]} instead"
    return msg


CHECK_FAILURE = re.compile(r"^(?:\x1b\[\d+m)*FAILURE: (?:\x1b\[\d+m)*", re.M)
CHECK_FOOTER = "\n" + "-" * 60 + "\n"


def _check_failures(text: str) -> str | None:
    """pytest-check's report, as one plain line per failed sub-check."""
    if not CHECK_FAILURE.match(text):
        return None
    failures, _, rest = text.partition(CHECK_FOOTER)
    lines = [line for line in CHECK_FAILURE.split(failures) if line.strip()]
    extra = rest.partition(CHECK_FOOTER)[2]  # an exception after the checks
    return "\n".join(line.rstrip() for line in lines) + (f"\n\n{extra}" if extra else "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Record each result for the summary and shorten what is shown.

    kind is one of: pass, fail, todo (NotImplementedError), load (the
    module does not import), missing (no such class).
    """
    report = yield
    cls = CLASS_OF_FILE.get(item.path.name)
    if cls is None or item.path.parent != TESTS:
        return report
    if report.skipped:
        return report
    if call.when != "call":
        if report.failed:  # trouble in setup or teardown
            Kata.results.setdefault(cls, []).append(
                (_label(item), "fail", f"error in {call.when}", item.name))
        return report

    kind, detail = "pass", ""
    if report.failed:
        kind = "fail"
        exc = call.excinfo.value if call.excinfo is not None else None
        if isinstance(exc, NotImplementedError):
            method = _kata_method(call.excinfo) or f"{cls}.?"
            module = MODULE_OF_CLASS.get(method.split(".")[0], "layers")
            kind, detail = "todo", method
            # The generated stubs say what to do after a colon: keep that.
            hint = str(exc).partition(f"{method} is not implemented yet: ")[2]
            report.longrepr = (f"{method} is not implemented yet ({Kata.show(module + '.py')})"
                               + (f": {hint}" if hint else ""))
        elif isinstance(exc, KataProblem):
            kind, detail = exc.kind, exc.msg
        elif isinstance(exc, AttributeError) and _missing_attribute(exc):
            detail = _missing_attribute(exc)
            report.longrepr = detail
        elif isinstance(exc, AssertionError):
            # Our own messages say what is wrong: show them without traceback.
            text = str(exc)
            shortened = _check_failures(text)
            if shortened is not None:
                report.longrepr = shortened
            elif text and _raised_in_tests(call.excinfo):
                report.longrepr = text
        elif exc is not None and not isinstance(exc, pytest.fail.Exception):
            method = _kata_method(call.excinfo)
            detail = type(exc).__name__ + (f" in {method}" if method else "")
            if method and "NoneType" in str(exc):
                detail = f"a value is None in {method}"
                report.longrepr = _none_hint(call.excinfo, method)
    Kata.results.setdefault(cls, []).append((_label(item), kind, detail, item.name))
    return report


def _none_hint(excinfo, method: str) -> str:
    """A None where an array was expected, usually something forward did not keep."""
    entry = excinfo.traceback[-1]
    path = Path(str(entry.path))
    shown = Kata.show(path.name) if path.parent == Kata.folder else str(path)
    where = f"{shown} line {entry.lineno + 1}"
    code = str(entry.statement).strip()
    return (f"{method}, {where}: {code}\n"
            f"{type(excinfo.value).__name__}: {excinfo.value}\n"
            "A value here is None: did forward store what backward needs "
            "(self.x = x, self.out = out), and does every method return its result?")


def _raised_in_tests(excinfo) -> bool:
    return Path(str(excinfo.traceback[-1].path)).parent == TESTS


# ----------------------------------------------------------------------------
# Per-class summary


def _mark(ok: bool, stream) -> str:
    sign = "✓" if ok else "✗"
    try:
        sign.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        sign = "ok" if ok else "X"
    return sign


def _describe(real: list) -> str:
    """'backward gradient check (dx, dW), in place: ValueError in ...'."""
    details = {r[2] for r in real}
    if len(details) == 1 and details != {""}:
        return details.pop()  # one cause behind every failure: say it once
    groups: dict[str, list[str]] = {}
    for label, *_ in real:
        base, _, param = label.partition(" (")
        groups.setdefault(base, []).append(param.rstrip(")"))
    labels = ", ".join(
        base + (f" ({', '.join(p for p in params if p)})" if any(params) else "")
        for base, params in groups.items()
    )
    causes = sorted(d for d in details if d)
    return labels + (f" [{'; '.join(causes)}]" if causes else "")


def _status(cls: str, results: list) -> tuple[bool, str]:
    total = len(results)
    failed = [r for r in results if r[1] != "pass"]
    if not failed:
        return True, f"all {total} checks pass"
    if any(r[1] == "load" for r in failed):
        module = MODULE_OF_CLASS[cls]
        why = Kata.errors.get(module, "").split(":")[0]
        return False, f"{Kata.show(module + '.py')} does not load ({why})"
    missing = [r for r in failed if r[1] == "missing"]
    if missing:
        return False, missing[0][2]
    todo = []
    for _, kind, detail, _ in failed:
        if kind == "todo":
            name = detail.removeprefix(cls + ".")
            if name not in todo:
                todo.append(name)
    real = [r for r in failed if r[1] == "fail"]
    parts = []
    if real:
        parts.append(f"{len(real)} of {total} failed: {_describe(real)}")
    if todo:
        parts.append(f"{' and '.join(todo)} not implemented yet")
    passed = total - len(failed)
    text = "; ".join(parts)
    if not real and passed:
        text += f" ({passed} of {total} checks pass)"
    return False, text


def _next_step(classes: list[str]) -> str:
    results = Kata.results
    for name in ("layers", "optimizer"):
        if name in Kata.errors and any(MODULE_OF_CLASS[c] == name for c in classes):
            return f"fix {Kata.show(name + '.py')} so that it loads: {Kata.errors[name]}"
    for cls in classes:
        for _, kind, detail, test in results[cls]:
            if kind == "missing":
                return detail
            if kind == "fail":
                impl = os.environ.get("KATA_IMPL", "exercises")
                return (f"fix {cls}: the failure of {test} above says what to change; "
                        f"rerun with  make test CLASS={cls}"
                        + (f" IMPL={impl}" if impl.rstrip("/") != "exercises" else ""))
    for cls in classes:
        for _, kind, method, _ in results[cls]:
            if kind == "todo":
                where = Kata.show(MODULE_OF_CLASS.get(method.split(".")[0], "layers") + ".py")
                verb = "start with" if method == f"{ORDER[0]}.forward" else "implement"
                return f"{verb} {method} in {where}, then run the tests again"
    return "every public check passes. The grader runs more cases than these."


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # A wrapper around pytest's own summary, so that this comes last,
    # right above the final "N passed, M failed" line.
    yield
    classes = [cls for cls in ORDER if Kata.results.get(cls)]
    if not classes:
        return
    tr = terminalreporter
    tr.write_sep("=", "kata progress")
    width = max(len(c) for c in classes)
    for cls in classes:
        ok, text = _status(cls, Kata.results[cls])
        tr.write_line(f"{cls:<{width}}  {_mark(ok, sys.stdout)} {text}",
                      green=ok, red=not ok)
    tr.write_line(f"Next: {_next_step(classes)}", bold=True)


def pytest_collection_modifyitems(session, config, items):
    """Run (and list failures) in the order to work in: MatMul first."""
    rank = {name: i for i, name in enumerate(CLASS_OF_FILE)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
