"""A submitted notebook's code cells, from bytes nobody vouches for.

The JSON is checked against the shape nbformat 4 gives a notebook before anything is
taken from it (cells a list of objects, `source` text or a list of texts, metadata
objects): a notebook of any other shape is refused with a reason, never half-read.
No nbformat import: the Gradescope image has only numpy and pytest.
"""
import json

MAX_BYTES = 8 << 20           # a notebook with a few plots is well below
CELL_TYPES = ("code", "markdown", "raw")


class Unusable(ValueError):
    """A submission, or one of its files, that cannot be graded.

    `status`: a few words for the grade table; `message`: the sentence the student reads."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def shown(text):
    """Any text (a file name that is not valid UTF-8 included) as printable UTF-8."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _invalid(filename, why):
    return Unusable("invalid notebook", f"{filename} is not a valid Jupyter notebook ({why}); "
                    "open it in Jupyter and save it again")


def _parse(data, filename):
    if len(data) > MAX_BYTES:
        raise Unusable("notebook too large", f"{filename} is larger than {MAX_BYTES >> 20} MiB; "
                       "clear the outputs (Edit > Clear Outputs of All Cells) and save it again")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise _invalid(filename, "its JSON is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:   # JSONDecodeError is a ValueError
        raise _invalid(filename, shown(exc)[:200]) from None


def _source_text(source):
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return None


def _checked_cells(notebook, filename):
    """The cells as a list of (type, metadata, source text); any other shape is refused."""
    if not isinstance(notebook, dict):
        raise _invalid(filename, "it is not a JSON object")
    version = notebook.get("nbformat")
    if type(version) is not int or version < 4:
        raise _invalid(filename, f"nbformat {shown(version)!s:.20}, expected 4 or newer")
    if not isinstance(notebook.get("metadata", {}), dict):
        raise _invalid(filename, "its metadata is not an object")
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise _invalid(filename, "its cells are not a list")
    checked = []
    for number, cell in enumerate(cells, 1):
        where = f"cell {number}"
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES:
            raise _invalid(filename, f"{where} is not a code, markdown or raw cell")
        metadata = cell.get("metadata", {})
        if not isinstance(metadata, dict) or not all(
                isinstance(metadata.get(key, {}), dict) for key in ("nbgrader", "kata")):
            raise _invalid(filename, f"{where}'s metadata is not an object of objects")
        text = _source_text(cell.get("source", ""))
        if text is None:
            raise _invalid(filename, f"{where}'s source is not text")
        checked.append((cell["cell_type"], metadata, text))
    return checked


def _without_magics(source):
    """IPython-only syntax becomes `pass`, keeping line numbers and indentation."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""   # a cell magic (%%time, %%writefile ...): not Python at all
    kept = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or (stripped.endswith("?") and " " not in stripped):
            line = line[:len(line) - len(stripped)] + "pass  # IPython syntax, skipped"
        kept.append(line)
    return "\n".join(kept)


def _is_test_cell(metadata):
    """Our cells, not the student's: never run them as part of the submission.

    nbgrader's autograded test cells, and the assignment's visible checks (which only
    call the student's classes: running them would only repeat a hang or a crash).
    """
    meta = metadata.get("nbgrader", {})
    checks = metadata.get("kata", {}).get("role") == "visible-checks"
    return checks or (bool(meta.get("grade")) and not meta.get("solution"))


def code_cells(data, filename):
    """The texts of the student's code cells, IPython syntax blanked out."""
    texts = [_without_magics(text) for kind, metadata, text in _checked_cells(_parse(data, filename), filename)
             if kind == "code" and not _is_test_cell(metadata)]
    if not any(t.strip() for t in texts):
        raise Unusable("empty notebook", f"{filename} has no code cells")
    return texts
