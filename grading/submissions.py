"""Submissions as source text: a folder, a zip made by `make submit`, or a notebook.

Nothing here runs student code. Zips are read in memory, never extracted, so an entry
named `../x` or `/etc/x` cannot write anywhere; it is only reported.
"""
import io
import json
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

FILES = {"layers.py": "layers", "optimizer.py": "optimizer"}
MAX_FILE_BYTES = 1 << 20      # a real layers.py is a few KB
MAX_ZIP_MEMBERS = 2000


@dataclass
class Submission:
    """What the grader needs of a submission; `sources` is empty when nothing could be read."""
    name: str
    path: Path
    sources: dict = field(default_factory=dict)   # module name -> text, or list of cell texts
    notes: list = field(default_factory=list)     # problems the student should hear about


def decode_source(data, filename):
    """Bytes -> text the way Python would read the file (BOM and coding cookie honoured)."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{filename} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding).replace("\r\n", "\n")
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise ValueError(f"{filename} is not readable as Python source text "
                         f"(save it as UTF-8): {exc}") from None


def name_for(path):
    """The submission's name: the folder or file name; for nbgrader's
    `<student>/<assignment>/<assignment>.ipynb` layout, the student id."""
    path = Path(path)
    if path.suffix == ".ipynb" and path.parent.name == path.stem and path.parent.parent.name:
        return path.parent.parent.name
    return path.stem if path.suffix in (".zip", ".ipynb") else path.name


# --- notebooks ---------------------------------------------------------------

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


def _is_test_cell(cell):
    """Our cells, not the student's: never run them as part of the submission.

    nbgrader's autograded test cells, and the assignment's visible checks (which only
    call the student's classes: running them would only repeat a hang or a crash).
    """
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {})
    checks = metadata.get("kata", {}).get("role") == "visible-checks"
    return checks or (bool(meta.get("grade")) and not meta.get("solution"))


def notebook_cells(data, filename):
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
        cells = notebook["cells"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{filename} is not a valid Jupyter notebook ({exc})") from None
    texts = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or _is_test_cell(cell):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        texts.append(_without_magics(source))
    if not any(t.strip() for t in texts):
        raise ValueError(f"{filename} has no code cells")
    return texts


# --- loading -------------------------------------------------------------------

def _from_files(sub, files):
    """`files`: {relative path: bytes}. Picks layers.py/optimizer.py or one notebook."""
    by_name = {}
    for rel in sorted(files, key=lambda r: (r.count("/"), r)):   # shallowest first
        base = PurePosixPath(rel).name
        if base in FILES and base not in by_name:
            by_name[base] = rel
    notebooks = sorted((r for r in files if r.endswith(".ipynb")
                        and ".ipynb_checkpoints" not in r), key=lambda r: (r.count("/"), r))
    if not by_name and notebooks:
        rel = notebooks[0]
        sub.sources["notebook"] = notebook_cells(files[rel], rel)
        return
    for base, module in FILES.items():
        if base not in by_name:
            sub.notes.append(f"{base} is missing from the submission")
            continue
        try:
            sub.sources[module] = decode_source(files[by_name[base]], base)
        except ValueError as exc:
            sub.notes.append(str(exc))


def _zip_files(path, notes):
    files = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise ValueError(f"{path.name} has {len(members)} entries; is it the right zip?")
            for info in members:
                rel = info.filename.replace("\\", "/")
                parts = PurePosixPath(rel).parts
                if rel.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                    notes.append(f"ignored zip entry {info.filename!r}: it points outside the folder")
                    continue
                wanted = PurePosixPath(rel).name in FILES or rel.endswith(".ipynb")
                if info.is_dir() or not wanted or "__MACOSX" in parts:
                    continue
                if info.file_size > MAX_FILE_BYTES:
                    notes.append(f"ignored {rel}: larger than {MAX_FILE_BYTES // 1024} KiB")
                    continue
                with archive.open(info) as f:
                    files[rel] = f.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise ValueError(f"{path.name} is not a readable zip file ({exc})") from None
    return files


def _folder_files(path):
    files = {}
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path).as_posix()
        # Only what a submission can hold; never follow links out of the folder.
        if f.is_symlink() or not f.is_file() or rel.count("/") > 3:
            continue
        if f.name in FILES or f.suffix == ".ipynb":
            files[rel] = f.read_bytes()[:MAX_FILE_BYTES + 1]
    return files


def load(path, name=None):
    """A `Submission` for a folder, zip or notebook path; problems end up in `notes`."""
    path = Path(path)
    sub = Submission(name or name_for(path), path)
    try:
        if path.is_dir():
            _from_files(sub, _folder_files(path))
        elif path.suffix == ".zip":
            _from_files(sub, _zip_files(path, sub.notes))
        elif path.suffix == ".ipynb":
            sub.sources["notebook"] = notebook_cells(path.read_bytes(), path.name)
        elif not path.exists():
            sub.notes.append(f"{path} does not exist")
        else:
            sub.notes.append(f"{path.name} is not a submission: give a folder, a .zip or an .ipynb")
    except (ValueError, OSError) as exc:
        sub.notes.append(str(exc))
    if not sub.sources and not sub.notes:
        sub.notes.append("no layers.py, optimizer.py or notebook was found")
    return sub
