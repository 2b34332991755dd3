"""dist/student-kit.zip: what a student needs to work without nbgrader, and nothing more.

Built from the sources of truth, never from the working tree an instructor may have
filled in: exercises/ is generated from solutions/ by the stub generator, tests/ is the
public suite, and the Makefile, README and pyproject are cut down to the student's part
(`make help` lists no instructor target, nothing mentions IMPL=solutions, the install
step leaves no *.egg-info in the student's folder). Every file is leak-scanned.
"""
import re
import zipfile
from pathlib import Path

from grading.course import leakscan
from grading.course.runner import REPO
from grading.tools import gen_stubs

PREFIX = "backprop-kata/"
KIT_DIRS = ("exercises", "tests", "network")      # network/: make train, where the repo has it
NEEDED_DIRS = ("exercises", "tests")
KIT_FILES = ("Makefile", "README.md", "pyproject.toml", ".gitignore")
INSTRUCTOR_TARGETS = ("install-instructor", "selftest", "demo", "release", "autograde",
                      "feedback", "grades", "autograde-kata", "gradescope", "generate", "bench")
_SECTION = re.compile(r"(?m)^(?=# --- )")


class KitError(Exception):
    """The kit cannot be built; the message names the file and the cause."""


# --- the student's versions of the repository's files -------------------------------------

def student_readme(text):
    """The introduction and the "For students" section; no IMPL=solutions."""
    sections = re.split(r"(?m)^(?=## )", text)
    kept = [sections[0]] + [s for s in sections[1:] if s.startswith("## For students")]
    return _no_solutions_hint("".join(kept).rstrip() + "\n")


def _no_solutions_hint(text):
    text = re.sub(r"\s*\([^()\n]*IMPL=solutions[^()\n]*\)", "", text)
    return re.sub(r"IMPL=solutions or ", "", text)


def _dependencies(extras=()):
    """The project's dependencies, and those of `extras`, from pyproject.toml (tomllib is
    3.11+: a regex on 3.10). An extra naming the project itself ("backprop-kata[grader]")
    is unfolded."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
        project = tomllib.loads(text)["project"]
        lists = dict(project.get("optional-dependencies", {}), **{"": project["dependencies"]})
    except ImportError:
        lists = {m.group(1): re.findall(r'"([^"]+)"', m.group(2))
                 for m in re.finditer(r"(?ms)^([\w-]+)\s*=\s*\[(.*?)\]", text)}
        lists[""] = lists.pop("dependencies")
    deps, todo = [], ["", *extras]
    while todo:
        for dep in lists.get(todo.pop(0), []):
            own = re.match(r"backprop-kata\[([\w,-]+)\]", dep)
            if own:
                todo += own.group(1).split(",")
            elif dep not in deps:
                deps.append(dep)
    return deps


def _by_name(match):
    extras = [e for e in (match.group(2) or "").split(",") if e]
    return match.group(1) + " " + " ".join(f'"{d}"' for d in _dependencies(extras))


def student_makefile(text):
    """The Makefile without the instructor's and maintainer's sections and targets; the
    venv gets the dependencies by name (an editable install would leave *.egg-info)."""
    sections = _SECTION.split(text)
    kept = [s for s in sections
            if not re.match(r"# --- (instructor|maintainer)", s, re.I)]
    text = "".join(kept)
    # Rules of instructor targets outside those sections (install-instructor and its stamp).
    text = re.sub(r"(?ms)^(\$\(VENV\)/\.kata-instructor|install-instructor):.*?(?=^\S|\Z)", "", text)
    text = re.sub(r"(?m)^(#.*?)\s*Instructors:.*$", r"\1", text)
    text = "\n".join(line for line in text.splitlines()
                     if not re.match(r"#\s*(Instructors|Maintainers)\b", line)) + "\n"
    text, count = re.subn(r"(pip install[^\n]*?)\s-e\s+\"?\.(?:\[([\w,-]+)\])?\"?(?=\s|$)",
                          _by_name, text, flags=re.M)
    if count == 0:
        raise KitError("Makefile: no `pip install ... -e .` line to give the dependencies by "
                       "name (kit.py's student_makefile must follow the Makefile's install rule)")
    return _no_solutions_hint(text)


def student_files():
    """{kit path: bytes}."""
    files = {}
    for src in sorted((REPO / "solutions").glob("*.py")):
        try:
            stub = gen_stubs.stub_source(src.read_text(encoding="utf-8"), str(src))
        except gen_stubs.MarkerError as exc:
            raise KitError(f"solutions/{src.name}: the stub generator refused it: {exc}") from None
        files[f"exercises/{src.name}"] = stub.encode()
    for top in KIT_DIRS[1:]:
        for p in sorted((REPO / top).rglob("*")):
            rel = p.relative_to(REPO)
            if p.is_file() and not {"__pycache__", ".pytest_cache"} & set(rel.parts) \
                    and p.suffix != ".pyc":
                files[rel.as_posix()] = p.read_bytes()
    for name in KIT_FILES:
        path = REPO / name
        if not path.is_file():
            continue
        data = path.read_text(encoding="utf-8")
        if name == "README.md":
            data = student_readme(data)
        elif name == "Makefile":
            data = student_makefile(data)
        files[name] = data.encode()
    return files


# --- build and check -------------------------------------------------------------------------

def scan_files(files, secret=None):
    """Problems in {kit path: bytes}: files the kit may not hold, solution or hidden test
    lines (plain or encoded), instructor targets, IMPL=solutions."""
    secret = secret or leakscan.secret_lines()
    problems = []
    for rel, data in files.items():
        parts = rel.split("/")
        if not (rel in KIT_FILES or (parts[0] in KIT_DIRS and len(parts) > 1)):
            problems.append(f"kit: {rel}: not a file the kit may hold")
        if {"grading", "solutions"} & set(parts[:-1]) or rel.endswith(".egg-info"):
            problems.append(f"kit: {rel}: from grading/ or solutions/")
        text = data.decode("utf-8", errors="replace")
        # The README may name the markers ("### BEGIN/END SOLUTION"); code may not.
        problems += leakscan.scan_lines(f"kit: {rel}", text.splitlines(), secret,
                                        markers=not rel.endswith(".md"), decode=True)
        if "IMPL=solutions" in text:
            problems.append(f"kit: {rel}: mentions IMPL=solutions (there is no solutions/ in the kit)")
    targets = re.findall(r"(?m)^([a-z-]+):.*## ", files.get("Makefile", b"").decode())
    problems += [f"kit: Makefile: `make help` lists the instructor target {t}"
                 for t in targets if t in INSTRUCTOR_TARGETS]
    for top in NEEDED_DIRS:
        if not any(r.startswith(f"{top}/") for r in files):
            problems.append(f"kit: nothing from {top}/")
    return problems


def write_zip(files, dest):
    """Fixed timestamps: the same sources give the same bytes."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, data in sorted(files.items()):
            info = zipfile.ZipInfo(PREFIX + rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    tmp.replace(dest)
    return dest


def zip_files(path):
    """{kit path: bytes} of a kit zip (entries outside the prefix keep their full name)."""
    with zipfile.ZipFile(path) as z:
        return {(n[len(PREFIX):] if n.startswith(PREFIX) else n): z.read(n)
                for n in z.namelist() if not n.endswith("/")}


def scan_kit(path, secret=None):
    return scan_files(zip_files(path), secret)


def prepare():
    """The kit's files, checked; raises KitError naming every problem (nothing written)."""
    files = student_files()
    problems = scan_files(files)
    if problems:
        raise KitError("the student kit would leak or hold the wrong files (built from "
                       "solutions/ through the stub generator, tests/ and the student's part "
                       "of Makefile/README):\n  " + "\n  ".join(problems))
    return files
