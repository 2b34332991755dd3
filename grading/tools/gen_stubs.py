"""Generate the student stubs in exercises/ from the reference in solutions/.

Each region of a solution file between a ``### BEGIN SOLUTION`` line and a
``### END SOLUTION`` line (nbgrader's markers) becomes one line::

    raise NotImplementedError("Affine.backward is not implemented yet: ...")

at the indentation of the markers. The message names the method that holds
the region and, after the colon, repeats the first line of its docstring,
so that line should say what the student has to do.

Usage (from the repository root)::

    python -m grading.tools.gen_stubs           # (re)write exercises/*.py
    python -m grading.tools.gen_stubs --check   # exit 1 if exercises/ drifted

For other tools: ``stub_source(text)`` gives the stub of one solution file
and ``strip_markers(text)`` gives the reference without the marker lines.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HEADER = (
    "# generated from solutions/ by grading/tools/gen_stubs.py"
    " — edit this file freely, it is yours\n"
)

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


class MarkerError(ValueError):
    """A solution file whose markers do not pair up or do not fit the code."""


def _is_marker(line: str, marker: str) -> bool:
    return line.strip() == marker


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _regions(lines: list[str], name: str) -> list[tuple[int, int]]:
    """Return (begin, end) line indexes (0-based) of every marked region."""
    regions, begin = [], None
    for i, line in enumerate(lines):
        if _is_marker(line, BEGIN):
            if begin is not None:
                raise MarkerError(
                    f"{name}:{i + 1}: {BEGIN} inside the region opened at "
                    f"line {begin + 1}"
                )
            begin = i
        elif _is_marker(line, END):
            if begin is None:
                raise MarkerError(f"{name}:{i + 1}: {END} without a {BEGIN}")
            if _indent(line) != _indent(lines[begin]):
                raise MarkerError(
                    f"{name}:{i + 1}: {END} is not indented like the {BEGIN} "
                    f"at line {begin + 1}"
                )
            regions.append((begin, i))
            begin = None
    if begin is not None:
        raise MarkerError(f"{name}:{begin + 1}: {BEGIN} is never closed")
    return regions


def _enclosing_function(tree: ast.AST, lineno: int):
    """Innermost function containing 1-based ``lineno``, with its qualname."""
    best = None

    def visit(node, prefix):
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{prefix}{child.name}"
                if child.lineno <= lineno <= child.end_lineno:
                    if not isinstance(child, ast.ClassDef):
                        best = (child, qual)
                    visit(child, qual + ".")

    visit(tree, "")
    return best


def _hint(func: ast.AST) -> str:
    """First line of the function's docstring, as the tail of a sentence."""
    doc = ast.get_docstring(func)
    if not doc:
        return "write its body (see the instructions in the docstring)"
    first = doc.strip().splitlines()[0].strip()
    return first[:1].lower() + first[1:]


def _str_literal(text: str) -> str:
    if '"' in text or "\\" in text:
        return repr(text)
    return f'"{text}"'


def strip_markers(solution_text: str) -> str:
    """The reference implementation with the marker lines removed."""
    lines = solution_text.splitlines(keepends=True)
    _regions(lines, "<solution>")  # refuse unbalanced markers
    return "".join(
        line for line in lines
        if not (_is_marker(line, BEGIN) or _is_marker(line, END))
    )


def stub_source(solution_text: str, name: str = "<solution>") -> str:
    """The student stub: every marked region becomes one raise line."""
    lines = solution_text.splitlines(keepends=True)
    regions = _regions(lines, name)
    try:
        tree = ast.parse(solution_text, filename=name)
    except SyntaxError as exc:
        raise MarkerError(f"{name}:{exc.lineno}: the solution does not parse: {exc.msg}") from None

    out, pos = [HEADER], 0
    for begin, end in regions:
        found = _enclosing_function(tree, begin + 1)
        if found is None:
            raise MarkerError(f"{name}:{begin + 1}: marked region outside any function")
        func, qual = found
        message = f"{qual} is not implemented yet: {_hint(func)}"
        out.extend(lines[pos:begin])
        out.append(f"{_indent(lines[begin])}raise NotImplementedError({_str_literal(message)})\n")
        pos = end + 1
    out.extend(lines[pos:])
    stub = "".join(out)
    try:
        compile(stub, name, "exec")
    except SyntaxError as exc:
        raise MarkerError(
            f"{name}: the generated stub does not parse (line {exc.lineno}: {exc.msg}); "
            "a marked region must hold whole statements of one function body"
        ) from None
    return stub


def _expected(solutions: Path, exercises: Path) -> dict[Path, str]:
    sources = sorted(solutions.glob("*.py"))
    if not sources:
        raise MarkerError(f"no solution files in {solutions}")
    return {
        exercises / src.name: stub_source(src.read_text(encoding="utf-8"), str(src))
        for src in sources
    }


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grading.tools.gen_stubs",
        description="Write exercises/*.py (student stubs) from solutions/*.py.",
    )
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 if exercises/ differs from what would be generated",
    )
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--exercises", type=Path, default=EXERCISES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        expected = _expected(args.solutions, args.exercises)
    except MarkerError as exc:
        print(f"gen_stubs: {exc}", file=sys.stderr)
        return 2

    if args.check:
        drifted = []
        for path, text in expected.items():
            if not path.exists():
                drifted.append(f"  {_show(path)} is missing")
            elif path.read_text(encoding="utf-8") != text:
                drifted.append(f"  {_show(path)} differs from its solution's stub")
        if drifted:
            print(
                "gen_stubs --check: exercises/ is out of date with solutions/:\n"
                + "\n".join(drifted)
                + "\nRegenerate with: python -m grading.tools.gen_stubs",
                file=sys.stderr,
            )
            return 1
        print(f"gen_stubs --check: {len(expected)} stub(s) up to date")
        return 0

    args.exercises.mkdir(parents=True, exist_ok=True)
    for path, text in expected.items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            print(f"unchanged {_show(path)}")
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote     {_show(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
