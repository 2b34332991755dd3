"""Check what nbgrader released: no solution code, no hidden tests, nothing but the notebook.

    python -m grading.course.leakscan [RELEASE_DIR]    # default: grading/course/release/backprop

Exit status 1 and one line per problem when something leaked.
"""
import json
import sys
from pathlib import Path

from grading.course import build_assignment as ba

MIN_LINE = 13          # shorter lines ("return dx", "y = self.out") are too common to mean a leak
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
HIDDEN_WORDS = ("nbcell", "-m\", \"grading")


def _norm(line):
    return " ".join(line.split())


def solution_lines(text):
    """Non-trivial lines inside the BEGIN/END SOLUTION regions of a source text,
    leaving out docstrings and lines of MIN_LINE characters or fewer."""
    found = []
    inside = in_doc = False
    for raw in text.splitlines():
        line = _norm(raw)
        if "BEGIN SOLUTION" in line:
            inside = True
            continue
        if "END SOLUTION" in line:
            inside = False
            continue
        if not inside:
            continue
        quotes = line.count('"""') + line.count("'''")
        if in_doc or quotes:
            if quotes % 2 == 1:
                in_doc = not in_doc
            continue
        if len(line) >= MIN_LINE:
            found.append(line)
    return found


def hidden_lines():
    """Non-trivial lines of every class's hidden test code."""
    lines = []
    for _, name in ba.CLASSES:
        lines += [_norm(x) for x in ba.hidden_test_code(name).splitlines()
                  if len(_norm(x)) >= MIN_LINE]
    return lines


def _texts_of(path):
    """Lines a released file shows: cell sources and outputs for a notebook, else its text."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return data.decode("utf-8", "replace").splitlines()
        lines = []
        for cell in nb.get("cells", []):
            for part in [cell.get("source", "")] + [
                    o.get(k, "") for o in cell.get("outputs", [])
                    for k in ("text", "traceback")] + [
                    v for o in cell.get("outputs", []) for v in o.get("data", {}).values()]:
                part = "".join(part) if isinstance(part, list) else str(part)
                lines += part.splitlines()
        return lines
    return data.decode("utf-8", "replace").splitlines()


def scan_release(release_dir, solution_texts):
    """Problems found in `release_dir` (a list of messages; empty when clean).

    solution_texts: the source texts holding the BEGIN/END SOLUTION regions
    (e.g. solutions/layers.py and solutions/optimizer.py)."""
    root = Path(release_dir)
    if not root.is_dir():
        return [f"{root} is not a folder"]
    files = sorted(p for p in root.rglob("*") if p.is_file())
    problems = [f"released file that is not a notebook: {p.relative_to(root)}"
                for p in files if p.suffix != ".ipynb"]
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    if not notebooks:
        problems.append(f"no notebook in {root}")
    secret = {}
    for text in solution_texts:
        for line in solution_lines(text):
            secret.setdefault(line, "solution code")
    for line in hidden_lines():
        secret.setdefault(line, "hidden test code")
    for path in files:
        rel = path.relative_to(root)
        for number, line in enumerate(_texts_of(path), 1):
            shown = _norm(line)
            for marker in MARKERS:
                if marker in shown:
                    problems.append(f"{rel}: line {number}: nbgrader marker {marker!r}")
            for word in HIDDEN_WORDS:
                if word in shown:
                    problems.append(f"{rel}: line {number}: hidden test call {word!r}")
            if shown in secret:
                problems.append(f"{rel}: line {number}: {secret[shown]}: {shown}")
    return problems


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    release = Path(argv[0]) if argv else ba.COURSE / "release" / ba.ASSIGNMENT
    texts = [(ba.REPO / "solutions" / f).read_text(encoding="utf-8")
             for f in sorted({f for f, _ in ba.CLASSES})]
    problems = scan_release(release, texts)
    for p in problems:
        print(p)
    if not problems:
        print(f"{release}: clean (only notebooks, no solution or hidden test code)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
