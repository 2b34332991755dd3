"""Where the student stands: one line per class and what to do next.

`make test`'s summary (tests/conftest.py) and the notebook's check and summary cells
(`check("MatMul", globals())`, `summary(globals())`) both word it here.
A result is (label, kind, detail): kind pass, fail, todo, timeout, mutation, missing, load
or notrun; detail: the short cause (for todo, the method).
"""
import os
import sys
import unicodedata
import warnings

import kata_layers  # noqa: F401  (registers the layers' checks)
import kata_sgd  # noqa: F401  (registers the SGD checks)
from kata_checks import CHECKS
from kata_guard import Failure, say

ORDER = list(CHECKS)
METHODS = {"MatMul": ["forward", "backward"], "Sigmoid": ["forward", "backward"],
           "Affine": ["forward", "backward"], "SGD": ["update"]}


def mark(ok, stream=None):
    sign = "✓" if ok else "✗"
    try:
        sign.encode(getattr(stream or sys.stdout, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        sign = "ok" if ok else "X"
    return sign


def _describe(real):
    details = {r[2] for r in real}
    if len(details) == 1 and details != {""}:
        return details.pop()   # one cause behind every failure: say it once
    groups = {}
    for label, *_ in real:
        base, _, param = label.partition(" (")
        groups.setdefault(base, []).append(param.rstrip(")"))
    labels = ", ".join(base + (f" ({', '.join(p for p in ps if p)})" if any(ps) else "")
                       for base, ps in groups.items())
    causes = sorted(d for d in details if d)
    return labels + (f" [{'; '.join(causes)}]" if causes else "")


def status(cls, results, total=None):
    """(ok, text) for one class; total: how many checks it has (more than ran: some not run)."""
    total = total or len(results)
    ran = [r for r in results if r[1] != "notrun"]
    if not ran:
        return False, "not run / 실행하지 않음"
    failed = [r for r in ran if r[1] != "pass"]
    unrun = total - len(ran)
    more = f" ({unrun} of {total} not run / {unrun}개 실행하지 않음)" if unrun else ""
    if not failed:
        if unrun:
            run = "the 1 check run passes" if len(ran) == 1 else f"the {len(ran)} checks run pass"
            return False, run + more
        if total == 1:
            return True, "its one check passes / 검사 1개 통과"
        return True, f"all {total} checks pass / 검사 {total}개 모두 통과"
    for kind in ("load", "missing"):
        found = [r for r in failed if r[1] == kind]
        if found:
            return False, found[0][2]
    todo = []
    for _, kind, detail in failed:
        name = detail.removeprefix(cls + ".")
        if kind == "todo" and name not in todo:
            todo.append(name)
    real = [r for r in failed if r[1] != "todo"]
    parts = []
    if real:
        parts.append(f"{len(real)} of {len(ran)} failed / {len(ran)}개 중 {len(real)}개 실패: {_describe(real)}")
    if todo:
        parts.append(f"{' and '.join(todo)} not implemented yet / 아직 구현하지 않음")
    passed = len(ran) - len(failed)
    text = "; ".join(parts)
    if not real and passed:
        text += f" ({passed} of {len(ran)} checks pass)"
    return False, text + more


def next_step(table, where, rerun, where_ko=None):
    """table: [(cls, results, total)]; where(cls) -> 'exercises/layers.py' or 'the MatMul
    cell' (where_ko: the same in Korean, default where); rerun(cls) -> how to run that
    class's checks again."""
    where_ko = where_ko or where
    for cls, results, _ in table:
        for label, kind, detail in results:
            if kind in ("load", "missing"):
                return detail
    for cls, results, _ in table:
        for label, kind, detail in results:
            if kind in ("fail", "timeout", "mutation"):
                return (f"fix {cls}: the failure of '{label}' above says what to change; {rerun(cls)}"
                        f"\n{cls} 클래스를 고치세요: 위의 '{label}' 실패 메시지가 무엇을 바꿀지 알려 줍니다")
    for cls, results, _ in table:
        for label, kind, method in results:
            if kind == "todo":
                verb = "start with" if method == f"{ORDER[0]}.forward" else "implement"
                return (f"{verb} {method} in {where(cls)}, then run the checks again"
                        f"\n{where_ko(cls)}의 {method}를 구현하고 다시 검사하세요")
    unrun = [cls for cls, results, total in table
             if len([r for r in results if r[1] != "notrun"]) < total]
    if unrun:
        return (f"the checks that ran pass; {', '.join(unrun)} not (fully) run: run them all"
                f"\n실행한 검사는 통과했습니다. {', '.join(unrun)}는 (모두) 실행하지 않았습니다")
    return ("every public check passes. The grader runs more cases than these."
            "\n모든 공개 검사를 통과했습니다. 채점에서는 더 많은 경우를 검사합니다.")


# --- the notebook ----------------------------------------------------------------------------

class CheckFailed(Exception):
    """What Validate reports for a class that does not pass its checks."""

    def _render_traceback_(self):
        # IPython shows these lines instead of a traceback: the message alone, with no
        # frame of the checks' code (nbgrader's Validate prints the same lines).
        return ["\x1b[0;31mCheckFailed\x1b[0m: " + line if i == 0 else line
                for i, line in enumerate(str(self).splitlines())]


def _columns(text):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text, indent):
    """Lines of at most WIDTH columns (Hangul takes two): Validate cuts long lines."""
    lines = []
    for line in text.splitlines():
        current = indent
        for word in line.split(" "):
            if current.strip() and _columns(current) + 1 + _columns(word) > WIDTH:
                lines.append(current)
                current = indent + "  " + word
            else:
                current += (" " if current.strip() else "") + word
        lines.append(current)
    return lines


WIDTH = 80


def run_class(cls, namespace):
    """[(label, kind, detail, message)] for every check of one class."""
    obj = namespace.get(cls)
    if not isinstance(obj, type):
        message = say(f"{cls} is not defined: run the cell with class {cls} (and fix any error it shows)",
                      f"{cls}가 정의되지 않았습니다. class {cls} 칸을 실행하세요 (오류가 있으면 고치세요)")
        return [("defined", "missing", message.splitlines()[0], message)]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # stderr would fail the cell in Validate
        for label, func in CHECKS[cls]:
            try:
                func(obj)
                out.append((label, "pass", "", ""))
            except Failure as exc:
                out.append((label, exc.kind, exc.detail, str(exc)))
            except Exception as exc:   # the answer was so odd that a check itself failed
                out.append((label, "fail", type(exc).__name__, f"{label}: {type(exc).__name__}: {exc}"))
    return out


def _cell(cls):
    return f"the {cls} cell"


def _report(cls, results):
    ok, text = status(cls, [r[:3] for r in results])
    lines = _wrap(f"{cls}: {mark(ok)} {text}", "")
    seen = set()
    for label, kind, detail, message in results:
        if kind != "pass" and (detail or message) not in seen:   # one message per cause
            seen.add(detail or message)
            lines += _wrap(f"[{label}] {message}", "  ")
    return ok, "\n".join(lines)


def check(cls, namespace):
    """The notebook's check cell: print the class's state. When nbgrader validates, a class
    that does not pass raises CheckFailed with the same text (Validate fails on it)."""
    __tracebackhide__ = True
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        return 0.0   # never reached (the hidden tests set the score); if it were: no points
    ok, text = _report(cls, run_class(cls, namespace))
    print(text)
    if not ok and os.environ.get("NBGRADER_EXECUTION") == "validate":
        raise CheckFailed(f"{cls} does not pass its checks yet / {cls} 검사를 아직 통과하지 "
                          f"못했습니다\n{text}") from None
    return None


def summary(namespace):
    """The notebook's last cell: every class's state and what to do next."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return None   # nbgrader's runs: the check cells said it already
    table, lines = [], []
    width = max(len(c) for c in ORDER)
    for cls in ORDER:
        results = run_class(cls, namespace)
        table.append((cls, [r[:3] for r in results], len(CHECKS[cls])))
        ok, text = status(cls, [r[:3] for r in results])
        lines.append(f"{cls:<{width}}  {mark(ok)} {text}")
    print("진행 상황 / Progress\n" + "\n".join(lines))
    print("Next / 다음: " + next_step(table, _cell, lambda cls: f"run the {cls} cell and its check "
                                      "cell again", lambda cls: f"{cls} 칸"))
    return None
