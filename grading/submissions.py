"""Submissions as source text: a folder, a zip made by `make submit`, a notebook, or a lone
layers.py / optimizer.py.

Nothing here runs student code, and nothing here trusts the input. Zips are read in memory,
never extracted, so an entry named `../x` or `/etc/x` cannot write anywhere. Reading is
bounded: the files that will be graded are chosen by name first, then only those are read,
each up to a byte limit (never a whole 1 GiB file). Whatever a path holds ends as a
`Submission` whose `status` says in a few words what was wrong, never as an exception.
"""
import errno
import io
import os
import stat
import struct
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grading import notebooks
from grading.notebooks import Unusable, shown

FILES = {"layers.py": "layers", "optimizer.py": "optimizer"}
MAX_FILE_BYTES = 1 << 20      # a real layers.py is a few KB
MAX_NOTEBOOK_BYTES = notebooks.MAX_BYTES
MAX_ZIP_BYTES = 32 << 20      # the zip file itself: a real one is a few KB
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_DIRECTORY = 1 << 20   # bytes of the zip's table of contents (2000 entries: ~0.2 MiB)
MAX_FOLDER_ENTRIES = 5000     # entries looked at in a submission folder
MAX_DEPTH = 3                 # folders below the submission's top that are searched
SKIPPED_FOLDERS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}

GRADED = "graded"
NO_SUBMISSION = "no submission"
NOT_A_SUBMISSION = "not a submission"
UNREADABLE = "unreadable"


@dataclass
class Submission:
    """What the grader needs of a submission; `sources` is empty when nothing could be read.

    `status` is "graded" or a few words for the table (e.g. "missing optimizer.py");
    `notes` are the sentences the student reads."""
    name: str
    path: Path
    sources: dict = field(default_factory=dict)   # module name -> text, or list of cell texts
    notes: list = field(default_factory=list)     # problems the student should hear about
    status: str = GRADED

    def problem(self, status, note):
        """A problem that changes the status (the first one names it) and is explained."""
        if self.status == GRADED:
            self.status = status
        self.notes.append(note)


def decode_source(data, filename):
    """Bytes -> text the way Python would read the file (BOM and coding cookie honoured)."""
    if len(data) > MAX_FILE_BYTES:
        raise Unusable(f"unreadable {filename}",
                       f"{filename} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding).replace("\r\n", "\n")
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise Unusable(f"unreadable {filename}", f"{filename} is not readable as Python source "
                       f"text (save it as UTF-8): {exc}") from None


def notebook_cells(data, filename):
    """The code cells' texts of a notebook's bytes (see grading.notebooks)."""
    return notebooks.code_cells(data, filename)


def name_for(path):
    """The submission's name: the folder or file name; for nbgrader's
    `<student>/<assignment>/<assignment>.ipynb` layout, the student id; for a lone
    `<student>/layers.py`, the folder's name."""
    path = Path(path)
    if path.suffix == ".ipynb" and path.parent.name == path.stem and path.parent.parent.name:
        return path.parent.parent.name
    if path.name in FILES and path.parent.name:
        return path.parent.name
    return path.stem if path.suffix in (".zip", ".ipynb") else path.name


# --- reading files: regular files only, bounded ------------------------------------------

_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device"}


def _why(exc):
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "it does not exist"
    return exc.strerror or str(exc)


def _open_regular(path):
    """A binary file object for a regular file; anything else (a pipe, a device) is
    refused without blocking on it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Unusable(UNREADABLE, f"{shown(path.name)} cannot be read: {_why(exc)}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise Unusable(NOT_A_SUBMISSION, f"{shown(path)} is {kind}, not a file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _read_bounded(path, limit):
    """At most `limit + 1` bytes (one more than allowed, so "too large" is seen)."""
    with _open_regular(path) as f:
        return f.read(limit + 1)


# --- choosing what to grade --------------------------------------------------------------

def _choose(names):
    """{base name: relative path} for layers.py/optimizer.py (shallowest first), else the
    shallowest notebook as {"notebook": path}."""
    chosen = {}
    for rel in sorted(names, key=lambda r: (r.count("/"), r)):
        base = PurePosixPath(rel).name
        if base in FILES and base not in chosen:
            chosen[base] = rel
    if not chosen:
        found = sorted((r for r in names if r.endswith(".ipynb")), key=lambda r: (r.count("/"), r))
        if found:
            chosen["notebook"] = found[0]
    return chosen


def _from_reader(sub, names, read):
    """Fill `sub` from the files `names` of a folder or zip; `read(rel, limit)` -> bytes."""
    chosen = _choose(names)
    if "notebook" in chosen:
        rel = chosen["notebook"]
        sub.sources["notebook"] = notebook_cells(read(rel, MAX_NOTEBOOK_BYTES), shown(rel))
        return
    if not chosen:
        raise Unusable(NO_SUBMISSION, "no layers.py, optimizer.py or notebook was found")
    for base, module in FILES.items():
        if base not in chosen:
            sub.problem(f"missing {base}", f"{base} is missing from the submission")
            continue
        try:
            sub.sources[module] = decode_source(read(chosen[base], MAX_FILE_BYTES), base)
        except Unusable as exc:
            sub.problem(f"unreadable {base}" if exc.status == UNREADABLE else exc.status,
                        exc.message)


def _folder_names(folder):
    """Relative paths of the files a submission folder may hold, found without following
    links and within MAX_DEPTH and MAX_FOLDER_ENTRIES."""
    names, seen, todo = [], 0, [(folder, "")]
    while todo:
        here, prefix = todo.pop()
        try:
            with os.scandir(here) as entries:   # lazily: a folder may hold millions
                for entry in entries:
                    seen += 1
                    if seen > MAX_FOLDER_ENTRIES:
                        return names
                    rel = prefix + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in SKIPPED_FOLDERS and rel.count("/") < MAX_DEPTH:
                            todo.append((entry.path, rel + "/"))
                    elif entry.is_file(follow_symlinks=False) and (
                            entry.name in FILES or entry.name.endswith(".ipynb")):
                        names.append(rel)
        except OSError:
            continue
    return names


def _zip_entries(archive, path, notes):
    """{relative path: ZipInfo} of the entries a submission may hold; the rest is skipped."""
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise Unusable("zip too large", f"{shown(path.name)} has {len(members)} entries (at most "
                       f"{MAX_ZIP_MEMBERS}); is it the right zip?")
    wanted = {}
    for info in members:
        rel = info.filename.replace("\\", "/")
        parts = PurePosixPath(rel).parts
        if rel.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            notes.append(f"ignored zip entry {shown(info.filename)!r}: it points outside the folder")
            continue
        keep = PurePosixPath(rel).name in FILES or rel.endswith(".ipynb")
        if info.is_dir() or not keep or SKIPPED_FOLDERS & set(parts):
            continue
        wanted[rel] = info
    return wanted


def _read_entry(archive, info, limit):
    if info.flag_bits & 0x1:
        raise Unusable("encrypted zip", f"{shown(info.filename)} is encrypted (zip -e): "
                       "submit the zip without a password")
    if info.file_size > limit:
        raise Unusable(UNREADABLE, f"{shown(info.filename)} is larger than {limit // 1024} KiB")
    try:
        with archive.open(info) as f:
            return f.read(limit + 1)
    except Exception as exc:   # zlib, CRC, unknown compression, ...: this entry only
        raise Unusable(UNREADABLE, f"{shown(info.filename)} could not be unpacked "
                       f"({type(exc).__name__}: {shown(exc)})") from None


def _central_directory(f, size, name):
    """(entries, bytes) of a zip's central directory, read from its end record before
    zipfile parses the whole directory (a few MiB of it can hold a million entries)."""
    tail_size = min(size, (1 << 16) + 22)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise Unusable("not a zip", f"{name} is not a readable zip file (no end record)")
    entries, directory_bytes = struct.unpack("<HL", tail[at + 10:at + 16])
    f.seek(0)
    return entries, directory_bytes


def _load_zip(sub, path):
    with _open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_ZIP_BYTES:
            raise Unusable("zip too large", f"{shown(path.name)} is {size >> 20} MiB; a submission "
                           f"zip is at most {MAX_ZIP_BYTES >> 20} MiB")
        entries, directory_bytes = _central_directory(f, size, shown(path.name))
        if entries > MAX_ZIP_MEMBERS or directory_bytes > MAX_ZIP_DIRECTORY:
            raise Unusable("zip too large", f"{shown(path.name)} has {entries} entries (at most "
                           f"{MAX_ZIP_MEMBERS}); is it the right zip?")
        try:
            archive = zipfile.ZipFile(f)
        except UnicodeDecodeError:
            raise Unusable("not a zip", f"{shown(path.name)} has a file name that is not valid "
                           "UTF-8 text; make the zip again with `make submit`") from None
        except Exception as exc:   # BadZipFile, EOFError, struct errors, ...
            raise Unusable("not a zip", f"{shown(path.name)} is not a readable zip file "
                           f"({shown(exc)})") from None
        with archive:
            entries = _zip_entries(archive, path, sub.notes)
            _from_reader(sub, list(entries), lambda rel, limit: _read_entry(archive, entries[rel], limit))


def _load(sub, path):
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.lexists(path):
            raise Unusable(NO_SUBMISSION, f"{shown(path.name)} does not exist") from None
        raise Unusable(UNREADABLE, f"{shown(path.name)} cannot be read: {_why(exc)}") from None
    if stat.S_ISDIR(mode):
        _from_reader(sub, _folder_names(path),
                     lambda rel, limit: _read_bounded(path / rel, limit))
    elif not stat.S_ISREG(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise Unusable(NOT_A_SUBMISSION, f"{shown(path.name)} is {kind}: give a folder, a .zip "
                       "or an .ipynb")
    elif path.suffix == ".zip":
        _load_zip(sub, path)
    elif path.suffix == ".ipynb":
        sub.sources["notebook"] = notebook_cells(_read_bounded(path, MAX_NOTEBOOK_BYTES),
                                                 shown(path.name))
    elif path.name in FILES:
        _from_reader(sub, [path.name], lambda rel, limit: _read_bounded(path, limit))
    else:
        raise Unusable(NOT_A_SUBMISSION, f"{shown(path.name)} is not a submission: give a "
                       "folder, a .zip or an .ipynb")


def load(path, name=None):
    """A `Submission` for any path; what was wrong ends up in `status` and `notes`."""
    path = Path(path)
    sub = Submission(name or name_for(path), path)
    try:
        _load(sub, path)
    except Unusable as exc:
        sub.problem(exc.status, exc.message)
    except Exception as exc:   # a reader bug or a resource limit: one submission, not the run
        sub.problem(UNREADABLE, f"{shown(path.name)} could not be read ({type(exc).__name__}: "
                    f"{shown(exc)[:300]})")
    if not sub.sources and sub.status == GRADED:
        sub.problem(NO_SUBMISSION, "no layers.py, optimizer.py or notebook was found")
    return sub
