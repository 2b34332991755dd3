"""Check what nbgrader released: no solution code, no hidden tests, nothing but the notebook.

    python -m grading.course.leakscan [RELEASE_DIR]    # default: grading/course/release/backprop

Exit status 1 and one line per problem when something leaked.
"""
import base64
import binascii
import bz2
import codecs
import gzip
import html
import json
import lzma
import re
import sys
import urllib.parse
import zlib
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


# --- what students must never see, and where it shows ------------------------------------

def secret_lines(solutions_dir=None):
    """{normalised line: "solution code" / "hidden test code"}."""
    folder = Path(solutions_dir or ba.REPO / "solutions")
    secret = {}
    for filename in sorted({f for f, _ in ba.CLASSES}):
        for line in solution_lines((folder / filename).read_text(encoding="utf-8")):
            secret.setdefault(line, "solution code")
    for line in hidden_lines():
        secret.setdefault(line, "hidden test code")
    return secret


def scan_lines(where, lines, secret, allowed=frozenset(), markers=True, decode=False):
    """Problems in some shown text: nbgrader markers (unless markers=False: prose that
    names them), the hidden cells' grader call, solution or hidden test lines. Lines in
    `allowed` (what the student wrote) are not leaks. decode=True: also every text the
    shown text decodes to (base64, hex, rot13, compressed...; see `decodings`)."""
    problems = []
    for number, raw in enumerate(lines, 1):
        shown = _norm(raw)
        if not shown or shown in allowed:
            continue
        found = [f"nbgrader marker {m!r}" for m in MARKERS if markers and m in shown]
        found += [f"hidden test call {w!r}" for w in HIDDEN_WORDS if w in shown]
        if shown in secret:
            found.append(f"{secret[shown]}: {shown}")
        problems += [f"{where}: line {number}: {f}" for f in found]
    if decode:
        for how, text in decodings("\n".join(lines)):
            for raw in text.splitlines():
                shown = _norm(raw)
                if shown in secret and shown not in allowed:
                    problems.append(f"{where}: {how}-encoded {secret[shown]}: {shown}")
    return problems


def html_lines(text):
    """The text an HTML page shows (tags dropped, entities decoded), line by line."""
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]*>", "", text)).splitlines()


def notebook_lines(path):
    """Every line of every cell source of a notebook, normalised (what its student wrote)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    lines = set()
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        lines |= {_norm(x) for x in source.splitlines()}
    return lines


# --- encodings a notebook could hide a secret in ------------------------------------------

_B64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_B32 = re.compile(r"[A-Z2-7]{16,}={0,6}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){12,}")
_UNPACK = (("zlib", zlib.decompress), ("gzip", gzip.decompress), ("bz2", bz2.decompress),
           ("lzma", lzma.decompress))


def _as_text(data):
    for name, unpack in _UNPACK:          # compressed first: its bytes are never text
        try:
            data = unpack(data)
            break
        except Exception:                 # noqa: BLE001 - not this format
            continue
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if sum(c.isprintable() or c in "\n\t" for c in text) > 0.9 * len(text) else None


def _decode_tokens(text):
    for pattern, name, decode in (
            (_B64, "base64", lambda t: base64.b64decode(t.replace("-", "+").replace("_", "/")
                                                        + "=" * (-len(t) % 4))),
            (_B32, "base32", lambda t: base64.b32decode(t + "=" * (-len(t) % 8))),
            (_HEX, "hex", binascii.unhexlify)):
        for token in pattern.findall(text):
            try:
                found = _as_text(decode(token))
            except (ValueError, binascii.Error):
                continue
            if found:
                yield name, found


def decodings(text, depth=2):
    """(how, decoded text) for what `text` may hide: base64/base32/hex tokens (their bytes
    maybe zlib, gzip, bz2 or lzma), rot13, URL quoting, reversal; twice nested."""
    found, todo = [], [("", text)]
    for _ in range(depth):
        nxt = []
        for how, t in todo:
            candidates = list(_decode_tokens(t))
            candidates += [("rot13", codecs.decode(t, "rot13")), ("reversed", t[::-1])]
            if "%" in t:
                candidates.append(("url", urllib.parse.unquote(t)))
            for name, decoded in candidates:
                nxt.append((f"{how}+{name}" if how else name, decoded))
        found += nxt
        todo = [x for x in nxt if x[0].split("+")[-1] not in ("rot13", "reversed")]
    return found


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
