"""Calling the student's code safely: a time limit, arguments that must stay unchanged,
and errors turned into a message a student can act on.

Shared by `make test` and the notebook (whose hidden helper cell is generated from this
file). numpy and the standard library only. Messages follow the hint policy (README,
"Hint policy"): the property, the shapes, the axis and the recognised mistake, in
English and Korean; never the solution's code.
"""
import linecache
import re
import signal
import threading
from pathlib import Path

import numpy as np

CALL_LIMIT = 2          # seconds one call into student code may take
_TIMED_OUT = set()      # (class, "Sigmoid.forward"): timed out once, not waited for again
_OURS = {"kata_guard.py", "kata_checks.py", "kata_model.py", "kata_layers.py", "kata_sgd.py",
         "kata_progress.py", "gradcheck.py"}


def say(en, ko):
    """One message in both languages: English, then Korean on the next line."""
    return f"{en}\n{ko}"


class Failure(AssertionError):
    """A check that failed. kind: fail, todo, timeout, mutation or missing; detail: the
    short cause the summary shows (for todo: the method, e.g. 'MatMul.forward')."""

    def __init__(self, message, kind="fail", detail=""):
        super().__init__(message)
        self.kind, self.detail = kind, detail


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` in student code
    does not swallow it."""


def _alarm(signum, frame):
    raise _Timeout()


def _owner(fn):
    owner = getattr(fn, "__self__", None)
    return type(owner) if owner is not None else fn


def _student_line(tb):
    """'line 12: dW = x @ dout' for the innermost frame of student code, or ''."""
    found = ""
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename
        name = Path(path).name
        if name not in _OURS and "numpy" not in Path(path).parts and not path.startswith("<frozen"):
            code = linecache.getline(path, tb.tb_lineno).strip()
            found = f"line {tb.tb_lineno}: {code}" if code else f"line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


def shape_mistake(grad, got, want, dims):
    """The recognised mistake behind a gradient of shape `got` instead of `want`.

    grad: "dx", "dW" or "db"; dims: {"N": 5, "D": 3, "H": 4}. A sentence pair, or ''.
    """
    got, want = tuple(got), tuple(want)
    n = dims.get("N")
    if grad == "db" and got == (n,):
        return say("that sums over the features (axis 1): b's gradient adds up dout over the "
                   "batch axis (axis 0)",
                   "특성 축(axis 1)으로 더했습니다. b의 기울기는 배치 축(axis 0)으로 더합니다")
    if grad == "db" and len(got) == 2:
        return say("db keeps the batch axis: b has one value per output feature, so add up "
                   "dout over the batch axis (axis 0)",
                   "db에 배치 축이 남아 있습니다. b는 출력 특성마다 값이 하나이므로 배치 축(axis 0)으로 더하세요")
    if got == want[::-1] and len(want) == 2:
        return say(f"{grad} looks transposed: it must have the shape {want}",
                   f"{grad}가 전치된 것 같습니다. 모양이 {want} 이어야 합니다")
    return say(f"{grad} must have the shape {want}: look at which operands (and which "
               "transpose) give that shape",
               f"{grad}의 모양은 {want} 이어야 합니다. 어떤 피연산자(와 전치)가 그 모양을 만드는지 보세요")


def explain(what, exc, context):
    """(message, short cause) for an exception raised by student code inside `what`.

    context: {"shapes": {"x": (5, 3), ...}, "grads": {"grads[1]": ("db", (4,))},
    "dims": {"N": 5, ...}}, whatever the check knows."""
    where = _student_line(exc.__traceback__)
    where = f" ({where})" if where else ""
    text = str(exc)
    shapes = context.get("shapes", {})
    listing = ", ".join(f"{k} {tuple(v)}" for k, v in shapes.items())
    if isinstance(exc, ValueError):
        m = re.search(r"could not broadcast input array from shape \(([^)]*)\) into shape \(([^)]*)\)", text)
        if m:
            got = tuple(int(s) for s in m.group(1).replace(",", " ").split())
            want = tuple(int(s) for s in m.group(2).replace(",", " ").split())
            for slot, (grad, shape) in context.get("grads", {}).items():
                if tuple(shape) == want:
                    return say(f"{what}: the value written into {slot} ({grad}) has shape {got}, "
                               f"but {grad[1:]} has shape {want}{where}",
                               f"{what}: {slot}({grad})에 쓰는 값의 모양이 {got} 인데 {grad[1:]}의 모양은 "
                               f"{want} 입니다") + "\n" + shape_mistake(grad, got, want, context.get("dims", {})), \
                        f"{grad} has shape {got}, {grad[1:]} has {want} (written with [...] =)"
        if "matmul" in text or "shapes" in text and "not aligned" in text or "broadcast" in text:
            if what.endswith(".forward"):
                rule = ("forward works for a batch of any size N (this one has N="
                        f"{context.get('dims', {}).get('N')}): is something sized by an earlier "
                        "batch, or are the operands in the wrong order?",
                        "forward는 어떤 배치 크기 N에도 동작해야 합니다. 이전 배치 크기로 만든 것이 "
                        "있거나 피연산자 순서가 틀렸나요?")
            else:
                rule = ("each gradient has the shape of its value (dx like x, dW like W, db like "
                        "b): choose the operands, the transposes and the axis that give those shapes",
                        "각 기울기는 해당 값과 같은 모양입니다 (dx는 x, dW는 W, db는 b). 그 모양이 "
                        "나오는 피연산자, 전치, 축을 고르세요")
            return (say(f"{what}: an operation on arrays of mismatched shapes{where}: {text}. "
                        f"The shapes here: {listing}; {rule[0]}",
                        f"{what}: 모양이 맞지 않는 배열 연산입니다. 여기서의 모양: {listing}. {rule[1]}"),
                    f"mismatched shapes in {what}{where}")
    if isinstance(exc, (TypeError, AttributeError)) and "NoneType" in text:
        return say(f"{what}: a value is None{where}: {type(exc).__name__}: {text}. Did forward "
                   "keep what backward needs on self, and does every method return its result?",
                   f"{what}: 값이 None 입니다. forward가 backward에 필요한 값을 self에 저장했는지, "
                   "모든 메서드가 결과를 반환하는지 확인하세요"), f"a value is None in {what}"
    return (say(f"{what} raised {type(exc).__name__}{where}: {text}",
                f"{what}에서 {type(exc).__name__} 예외가 발생했습니다"), f"{type(exc).__name__} in {what}")


def _changed(before, after):
    after = np.asarray(after)
    return after.shape != before.shape or not np.array_equal(after, before, equal_nan=True)


def call(what, fn, *args, protect=None, context=None):
    """fn(*args), stopped after CALL_LIMIT seconds where the system allows (main thread,
    not Windows). Failure when it is a stub, raises, times out, or changes an array of
    `protect` ({"x": x, ...}: what it must leave unchanged)."""
    __tracebackhide__ = True
    key = (_owner(fn), what)
    if key in _TIMED_OUT:
        raise Failure(say(f"{what} did not return within {CALL_LIMIT} s earlier in this run: an "
                          "endless loop? (not called again)",
                          f"{what}가 앞에서 {CALL_LIMIT}초 안에 끝나지 않았습니다. 무한 루프인가요? "
                          "(다시 호출하지 않습니다)"), "timeout", f"{what} timed out")
    saved = {label: np.array(a, copy=True) for label, a in (protect or {}).items()}
    timed = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if timed:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, CALL_LIMIT)
    try:
        result = fn(*args)
    except _Timeout:
        _TIMED_OUT.add(key)
        raise Failure(say(f"{what} did not return within {CALL_LIMIT} s: an endless loop?",
                          f"{what}가 {CALL_LIMIT}초 안에 끝나지 않았습니다. 무한 루프인가요?"),
                      "timeout", f"{what} timed out") from None
    except NotImplementedError as exc:
        hint = str(exc).partition("is not implemented yet: ")[2]
        raise Failure(say(f"{what} is not implemented yet" + (f": {hint}" if hint else ""),
                          f"{what}는 아직 구현되지 않았습니다"), "todo", what) from None
    except Failure:
        raise
    except Exception as exc:
        message, detail = explain(what, exc, context or {})
        raise Failure(message, "fail", detail) from None
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    for label, before in saved.items():
        if _changed(before, protect[label]):
            raise Failure(mutation(what, label), "mutation", f"{what} changed {label} in place")
    return result


def mutation(what, label):
    cls, _, method = what.partition(".")
    if cls == "SGD":
        return say(f"{what} changed {label} in place: update only reads grads (the layers own "
                   "those arrays and fill them again); change params only",
                   f"{what}가 {label}를 제자리에서 바꿨습니다. update는 grads를 읽기만 하고 params만 바꿉니다")
    arg = label.split(" ")[0]
    own = "its argument" if method in ("forward", "backward") and " " not in label else "the array"
    return say(f"{what} modified {own} {label}: forward and backward never change their "
               f"arguments (the caller still uses {arg}); compute into a new array "
               f"(a = {arg} * 2 rather than {arg} *= 2)",
               f"{what}가 인자 {arg}를 바꿨습니다. forward와 backward는 인자를 바꾸지 않습니다 "
               f"(호출한 쪽이 {arg}를 계속 씁니다). 새 배열에 계산하세요")


def attribute(obj, name, cls):
    """obj.name, or a Failure that names the missing attribute (a typo in __init__)."""
    __tracebackhide__ = True
    try:
        return getattr(obj, name)
    except AttributeError:
        import difflib
        close = difflib.get_close_matches(name, list(vars(obj)), n=1)
        found = f"; found self.{close[0]} instead" if close else ""
        raise Failure(say(f"{cls} has no attribute {name}: __init__ must set self.{name}{found}",
                          f"{cls}에 {name} 속성이 없습니다. __init__에서 self.{name}를 만드세요"),
                      "fail", f"no attribute {name}") from None
