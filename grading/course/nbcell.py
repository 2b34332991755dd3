"""The verdicts behind the notebook's hidden test cells (`python -m grading nbcell CLASS`).

The notebook has one hidden test cell per class, and each cell starts the grader in a
fresh process. Grading one class costs about as much as grading all four (most of the
time goes into starting Python, numpy, pytest and the sandbox), so the first cell grades
all four classes and leaves the verdicts in a small cache; the other three cells read
them from there.

Cache key: the sha256 of the notebook file's bytes, the submission's name and data seed,
the per-call timeout, the sandbox mode, a hash of the grader's own files and the id of
the parent process (the notebook's kernel). The parent process makes each autograde run
grade afresh: the four cells of one run share one grading, but a rerun (for instance
after a timeout on a busy machine) never reuses an old verdict. Entries older than
MAX_AGE are ignored and removed.

Cache folder: $KATA_NBCELL_CACHE, else <tmp>/kata-nbcell-<uid> (made private, 0700).

Trust: in the course's autograde the kernel runs in a box (kernel.py, jail.py) where
`grading` is a stand-in (kernel_shim/) that hands out the trusted verdicts: this module
runs only where a notebook's hidden cells are executed outside that box (a kernel the
instructor opted out of sandboxing, or a notebook run by hand). There a notebook can
write a fake cache entry, just as it can replace subprocess.run or json.loads; either way
its cells only make claims: the gradebook holds the trusted grader's scores (trusted.py).
"""
import hashlib
import json
import os
import stat
import tempfile
import time
from pathlib import Path

import grading
from grading import submissions
from grading.judge import CLASSES, seed_for

CACHE_ENV = "KATA_NBCELL_CACHE"
MAX_AGE = 600          # seconds: far longer than one notebook's four test cells take
GRADING_DIR = Path(grading.__file__).resolve().parent
# What decides a verdict: the judge, its suites and data, the sandbox, the rubric, the
# loading of submissions and this file (it formats the verdicts).
VERSION_FILES = ("judge", "sandbox", "rubric.toml", "grader.py", "submissions.py",
                 "course/nbcell.py")


def grader_version():
    """A hash of the grader's files: a changed grader never reads an old verdict."""
    digest = hashlib.sha256()
    for name in VERSION_FILES:
        top = GRADING_DIR / name
        if top.is_dir():
            files = sorted(p for p in top.rglob("*")
                           if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
        else:
            files = [top]
        for path in files:
            digest.update(str(path.relative_to(GRADING_DIR)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_dir():
    """The cache folder, private to this user; None when no safe folder can be had."""
    folder = Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / f"kata-nbcell-{os.getuid()}")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    # Someone else's folder, or one others may write to: then no cache at all.
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return None
    return folder


def _valid(verdicts):
    if not isinstance(verdicts, dict) or set(verdicts) != set(CLASSES):
        return False
    for cls, v in verdicts.items():
        if not (isinstance(v, dict) and v.get("class") == cls
                and isinstance(v.get("score"), (int, float))
                and isinstance(v.get("max_score"), (int, float))
                and isinstance(v.get("output"), str)):
            return False
    return True


def _read(entry):
    try:
        if time.time() - entry.stat().st_mtime > MAX_AGE:
            return None
        verdicts = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return verdicts if _valid(verdicts) else None


def _write(folder, entry, verdicts):
    """Atomically (a reader sees all of it or nothing); old entries are removed."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(verdicts, f)
        os.replace(tmp, entry)
        now = time.time()
        for old in folder.glob("*.json"):
            if now - old.stat().st_mtime > MAX_AGE:
                old.unlink(missing_ok=True)
    except OSError:
        pass        # a cache that cannot be written only costs time


def class_verdicts(results, notes):
    """{class: the JSON the test cell of that class reads} from one results dict."""
    verdicts = {}
    for number, cls in enumerate(CLASSES, 1):
        lines = [t["name"] + ("" if t["status"] == "passed" else ":\n" + t["output"])
                 for t in results["tests"] if t["number"].split(".")[0] == str(number)]
        info = results["kata"]["classes"].get(cls, {"score": 0.0, "max_score": 0.0})
        verdicts[cls] = {"class": cls, "score": info["score"], "max_score": info["max_score"],
                         "output": "\n".join(lines + [f"Note: {n}" for n in notes])}
    return verdicts


def load_notebook(path, data):
    """A Submission of the notebook whose bytes are `data` (the bytes that were hashed)."""
    sub = submissions.Submission(submissions.name_for(path), path)
    try:
        sub.sources["notebook"] = submissions.notebook_cells(data, path.name)
    except ValueError as exc:
        sub.notes.append(str(exc))
    return sub


def verdicts_for(path, seed=None, timeout=10.0, use_cache=True):
    """({class: verdict} for the notebook at `path`, whether they came from the cache)."""
    from grading import grader
    path = Path(path)
    data = path.read_bytes()
    name = submissions.name_for(path)
    seed = seed_for(name) if seed is None else seed
    folder = cache_dir() if use_cache else None
    entry = None
    if folder is not None:
        key = json.dumps([hashlib.sha256(data).hexdigest(), name, seed, float(timeout),
                          os.environ.get("KATA_SANDBOX", "auto"), grader_version(), os.getppid()])
        entry = folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")
        cached = _read(entry)
        if cached is not None:
            return cached, True
    sub = load_notebook(path, data)
    results = grader.grade(sub, seed=seed, timeout=timeout, classes=CLASSES)
    verdicts = class_verdicts(results, sub.notes)
    if entry is not None:
        _write(folder, entry, verdicts)
    return verdicts, False
