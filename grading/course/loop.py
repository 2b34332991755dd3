"""The instructor's nbgrader work on the kata's course, one command per job.

    python -m grading.course.loop release     # generate_assignment, leak scan, release_assignment,
                                              # and dist/student-kit.zip (leak-scanned too)
    python -m grading.course.loop autograde   # collect, then autograde with progress and a table
    python -m grading.course.loop feedback    # generate_feedback, release_feedback, leak scan of the HTML
    python -m grading.course.loop grades      # graded/nbgrader-grades.csv, cross-checked by the grader
    python -m grading.course.loop demo        # all of it on the bundled sample students, in demo/

Every command runs nbgrader with grading/course as its working directory (its
nbgrader_config.py is the course's configuration). The exchange is the one that
configuration names ($KATA_EXCHANGE, else nbgrader's shared folder) unless --exchange
says otherwise. `demo` (and the selftest) use a course folder and an exchange of their
own, so they never touch the real gradebook.

Exit status: 0 when all went well, 1 when a step failed or something leaked.
"""
import argparse
import concurrent.futures as futures
import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grading.course import build_assignment as ba
from grading.course import leakscan
from grading.judge import CLASSES

COURSE_DIR = ba.COURSE                       # the configuration, and the real course's root
REPO = ba.REPO
ASSIGNMENT = ba.ASSIGNMENT
COURSE_ID = "backprop-kata"
DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"
KIT_DIRS = ("exercises", "tests", "network")   # network/: make train (platform)
KIT_FILES = ("Makefile", "README.md", "pyproject.toml", ".gitignore")
KIT_PREFIX = "backprop-kata/"
FULL = ba.POINTS
# nbgrader log lines that say nothing to an instructor here:
NOISE = re.compile(
    r"SAWarning|^\s+(for notebook in|return \[x for x)"      # SQLAlchemy, from nbgrader's api.py
    r"|Kernel is running over TCP"                           # ipykernel's note on every start
    r"|Removing existing assignment"                         # what --force asks for
    # Hidden tests were cut from the released test cells, so their checksums always differ.
    r"|Attribute 'checksum' for cell \w+_tests has changed")


class LoopError(Exception):
    """A step failed; the message says which and why."""


# --- output --------------------------------------------------------------------------------

class Say:
    """Prints through rich when it is there (tables, colours), else plain text."""

    def __init__(self, quiet=False):
        self.quiet = quiet
        try:
            from rich.console import Console
            self.console = Console(highlight=False)
            if not self.console.is_terminal:        # a log file or a pipe: no wrapping at 80
                self.console = Console(highlight=False, width=200)
        except ImportError:
            self.console = None

    def __call__(self, text="", style=None):
        if self.quiet:
            return
        if self.console is not None:
            self.console.print(text, style=style, markup=False)
        else:
            print(text, flush=True)

    def table(self, title, header, rows):
        if self.quiet:
            return
        if self.console is not None:
            from rich.table import Table
            table = Table(*header, title=title)
            for row in rows:
                table.add_row(*[str(x) for x in row])
            self.console.print(table)
            return
        print(title)
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for row in [header, *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


# --- running nbgrader ------------------------------------------------------------------------

def _bin(name):
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def tool_env(extra=None):
    """Our environment with the venv's bin/ first on PATH (nbgrader runs `alembic` by name)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


def run_tool(cmd, cwd, env, on_line=None):
    """Run a command, its stdout and stderr merged; (exit status, lines). `on_line(line)`
    sees each line as it comes."""
    lines = []
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                          errors="replace", bufsize=1) as proc:
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            if on_line is not None:
                on_line(line)
    return proc.returncode, lines


@dataclass
class Course:
    """Where one course lives: its root folder (source/, release/, submitted/, ..., the
    gradebook) and its exchange (None: what nbgrader_config.py says)."""
    root: Path = COURSE_DIR
    exchange: Path = None
    nbcell_cache: Path = None      # for the hidden test cells' `nbcell` calls (None: default)
    check_owner: bool = True       # collect warns about files not owned by the student
    say: Say = field(default_factory=Say)
    log: list = field(default_factory=list)     # every nbgrader line, for the record

    @property
    def exchange_root(self):
        return Path(self.exchange or os.environ.get("KATA_EXCHANGE") or DEFAULT_EXCHANGE)

    @property
    def db_url(self):
        return "sqlite:///" + str(Path(self.root) / "gradebook.db")

    def env(self):
        extra = {"KATA_NBCELL_CACHE": str(self.nbcell_cache)} if self.nbcell_cache else {}
        return tool_env(extra)

    def overrides(self):
        args = []
        if Path(self.root).resolve() != COURSE_DIR.resolve():
            args += [f"--CourseDirectory.root={self.root}", f"--CourseDirectory.db_url={self.db_url}"]
        if self.exchange is not None:
            args.append(f"--Exchange.root={self.exchange}")
        return args

    def nbgrader(self, *args, on_line=None, what=None, ended=None):
        """One nbgrader command in the course; raises LoopError when it fails.
        on_line(line): sees the log as it comes; ended(): called when the command ends."""
        cmd = [_bin("nbgrader"), *args, *self.overrides()]
        started = time.monotonic()
        try:
            code, lines = run_tool(cmd, COURSE_DIR, self.env(), on_line)
        finally:
            if ended is not None:
                ended()
        self.log += lines
        seconds = time.monotonic() - started
        if code != 0:
            shown = "\n".join(line for line in lines if not NOISE.search(line))[-3000:]
            raise LoopError(f"nbgrader {' '.join(args)} failed (exit {code}):\n{shown}")
        self.say(f"  nbgrader {' '.join(args)}: {what or 'done'} ({seconds:.1f} s)")
        return lines

    def submitted(self):
        """Student ids with a collected submission."""
        return sorted(p.parent.name for p in Path(self.root).glob(f"submitted/*/{ASSIGNMENT}")
                      if p.is_dir())

    def submitted_notebook(self, student):
        return Path(self.root) / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


# --- leak scans ----------------------------------------------------------------------------------

def secret_lines():
    """{normalised line: "solution code" / "hidden test code"}: what students must never see."""
    secret = {}
    for filename in sorted({f for f, _ in ba.CLASSES}):
        text = (REPO / "solutions" / filename).read_text(encoding="utf-8")
        for line in leakscan.solution_lines(text):
            secret.setdefault(line, "solution code")
    for line in leakscan.hidden_lines():
        secret.setdefault(line, "hidden test code")
    return secret


def scan_lines(where, lines, secret, allowed=frozenset(), markers=True):
    """Problems in some shown text: nbgrader markers (unless markers=False: prose that
    names them), the hidden cells' grader call, solution or hidden test lines. Lines in
    `allowed` (what the student wrote) are not leaks."""
    problems = []
    for number, raw in enumerate(lines, 1):
        shown = leakscan._norm(raw)
        if not shown or shown in allowed:
            continue
        found = [f"nbgrader marker {m!r}" for m in leakscan.MARKERS if markers and m in shown]
        found += [f"hidden test call {w!r}" for w in leakscan.HIDDEN_WORDS if w in shown]
        if shown in secret:
            found.append(f"{secret[shown]}: {shown}")
        problems += [f"{where}: line {number}: {f}" for f in found]
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
        lines |= {leakscan._norm(x) for x in source.splitlines()}
    return lines


def scan_feedback(course):
    """(problems, html paths): the feedback pages must show no hidden test code and no
    solution code beyond what the student wrote themselves."""
    secret = secret_lines()
    pages = sorted(Path(course.root).glob(f"feedback/*/{ASSIGNMENT}/*.html"))
    problems = []
    for page in pages:
        student = page.parent.parent.name
        own = notebook_lines(course.submitted_notebook(student))
        text = page.read_text(encoding="utf-8", errors="replace")
        problems += scan_lines(f"feedback {student}/{page.name}", html_lines(text), secret, own)
        if f"{CLASSES[0]}_tests" not in text:
            problems.append(f"feedback {student}/{page.name}: no graded cells in it (empty page?)")
    if not pages:
        problems.append(f"no feedback pages in {Path(course.root) / 'feedback'}")
    return problems, pages


def kit_entries():
    """Repository-relative paths of the student kit's files."""
    paths = []
    for top in KIT_DIRS:
        for p in sorted((REPO / top).rglob("*")):
            rel = p.relative_to(REPO)
            if p.is_file() and not {"__pycache__", ".pytest_cache"} & set(rel.parts) \
                    and p.suffix != ".pyc":
                paths.append(rel.as_posix())
    return paths + [f for f in KIT_FILES if (REPO / f).is_file()]


def student_readme():
    """The repository README cut down to what a student's kit can do: the introduction
    and the "For students" section (the instructor's targets are not in the kit)."""
    sections = re.split(r"(?m)^(?=## )", (REPO / "README.md").read_text(encoding="utf-8"))
    kept = [sections[0]] + [s for s in sections[1:] if s.startswith("## For students")]
    return "".join(kept).rstrip() + "\n"


def build_kit(dest):
    """dist/student-kit.zip: exercises/, tests/ and the files a student needs to run them.
    Fixed timestamps: the same sources give the same bytes."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in kit_entries():
            info = zipfile.ZipInfo(KIT_PREFIX + rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = student_readme().encode() if rel == "README.md" else (REPO / rel).read_bytes()
            z.writestr(info, data)
    tmp.replace(dest)
    return dest


def scan_kit(path, secret=None):
    """Problems with a student kit: files from outside exercises/, tests/ and the top-level
    files it may hold, and any solution or hidden test line in any file."""
    secret = secret or secret_lines()
    problems = []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        for name in names:
            rel = name[len(KIT_PREFIX):] if name.startswith(KIT_PREFIX) else None
            parts = rel.split("/") if rel else []
            if rel is None or not (rel in KIT_FILES or (parts and parts[0] in KIT_DIRS and len(parts) > 1)):
                problems.append(f"kit: {name}: not a file the kit may hold")
            if {"grading", "solutions"} & set(parts):
                problems.append(f"kit: {name}: from grading/ or solutions/")
            if name.endswith("/"):
                continue
            text = z.read(name).decode("utf-8", errors="replace")
            # The README may name the markers ("### BEGIN/END SOLUTION"); code may not.
            problems += scan_lines(f"kit: {name}", text.splitlines(), secret,
                                   markers=not name.endswith(".md"))
        for top in KIT_DIRS:
            if not any(n.startswith(f"{KIT_PREFIX}{top}/") for n in names):
                problems.append(f"kit: nothing from {top}/")
    return problems


# --- the instructor's jobs -----------------------------------------------------------------------

def _ensure_exchange(course):
    root = course.exchange_root
    if root.is_dir():
        return
    try:
        root.mkdir(parents=True)
        root.chmod(0o777)       # students write their submissions into it
    except OSError as exc:
        raise LoopError(f"the exchange {root} does not exist and cannot be made ({exc}); "
                        "set KATA_EXCHANGE to a folder everyone in the course can write") from None
    course.say(f"  made the exchange folder {root}")


def release(course, kit=REPO / "dist" / "student-kit.zip"):
    """generate_assignment, leak scan, release_assignment, student kit and its leak scan.
    Returns (released folder, kit path); raises LoopError on any leak."""
    say = course.say
    done = subprocess.run([sys.executable, "-m", "grading.course.build_assignment", "--check"],
                          capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise LoopError("the source notebook is not what solutions/ gives: run "
                        "`python -m grading.course.build_assignment` (make generate) first\n"
                        + done.stderr[-2000:])
    say(f"release: course {course.root}, exchange {course.exchange_root}")
    course.nbgrader("generate_assignment", ASSIGNMENT, "--force",
                    what="student version written to release/")
    released = Path(course.root) / "release" / ASSIGNMENT
    texts = [(REPO / "solutions" / f).read_text(encoding="utf-8")
             for f in sorted({f for f, _ in ba.CLASSES})]
    problems = leakscan.scan_release(released, texts)
    if problems:
        raise LoopError(f"LEAK in {released}: nothing was released\n  " + "\n  ".join(problems))
    say(f"  leak scan of {released}: clean (only the notebook; no solution or hidden test code)")
    _ensure_exchange(course)
    course.nbgrader("release_assignment", ASSIGNMENT, "--force",
                    what=f"released to {course.exchange_root / COURSE_ID / 'outbound' / ASSIGNMENT}")
    if kit is not None:
        kit = build_kit(kit)
        problems = scan_kit(kit)
        if problems:
            kit.unlink()
            raise LoopError(f"LEAK in the student kit (removed {kit})\n  " + "\n  ".join(problems))
        with zipfile.ZipFile(kit) as z:
            count = len(z.namelist())
        say(f"  student kit {kit}: {count} files, leak scan clean")
    return released, kit


def collect(course):
    """nbgrader collect (newer submissions replace older ones); the collected student ids."""
    args = ["collect", ASSIGNMENT, "--update"]
    if not course.check_owner:
        args.append("--ExchangeCollect.check_owner=False")
    course.nbgrader(*args, what="from " + str(course.exchange_root / COURSE_ID / "inbound"))
    students = course.submitted()
    course.say(f"  {len(students)} submissions collected in {Path(course.root) / 'submitted'}")
    return students


class _AutogradeProgress:
    """Follows nbgrader autograde's log: a bar (or plain lines) per student, and the time
    each student took (from its first log line to the next student's)."""

    STUDENT = re.compile(r"/(?:submitted|autograded)/([^/\s]+)/" + re.escape(ASSIGNMENT) + r"\b")

    def __init__(self, say, total):
        self.say, self.total = say, total
        self.current, self.started = None, None
        self.seconds, self.order, self.skipped = {}, [], []
        self.bar = None
        if say.console is not None and say.console.is_terminal and not say.quiet:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), console=say.console)
            self.task = self.bar.add_task("autograde", total=total)
            self.bar.start()

    def _print(self, text):
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            self.say(text)

    def _close_current(self, now):
        if self.current is not None and self.current not in self.skipped:
            self.seconds[self.current] = now - self.started
            if self.bar is not None:
                self.bar.update(self.task, advance=1)
            self._print(f"  autograded {self.current} ({self.seconds[self.current]:.1f} s)")

    def line(self, line):
        now = time.monotonic()
        found = self.STUDENT.search(line)
        if found and "Skipping existing" in line:         # graded before, and no --force
            if found.group(1) not in self.skipped:
                self.skipped.append(found.group(1))
            return
        if found and found.group(1) != self.current and found.group(1) not in self.seconds:
            self._close_current(now)
            self.current, self.started = found.group(1), now
            self.order.append(self.current)
            if self.bar is not None:
                self.bar.update(self.task, description=f"autograde: {self.current}")
        if NOISE.search(line):
            return
        if "| WARNING]" in line or "| ERROR]" in line or "Traceback" in line:
            self._print("  nbgrader: " + line.split("] ", 1)[-1])

    def finish(self):
        self._close_current(time.monotonic())
        self.current = None
        if self.bar is not None:
            self.bar.stop()


def gradebook_scores(course):
    """{student: {class: points}} of the autograded submissions in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    with Gradebook(course.db_url) as gb:
        for student in gb.students:
            try:
                nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            grades = {g.name.removesuffix("_tests"): g.score for g in nb.grades}
            if all(grades.get(c) is not None for c in CLASSES):
                scores[student.id] = {c: float(grades[c]) for c in CLASSES}
    return scores


def autograde(course, force=False, do_collect=True):
    """(collect and) autograde everything collected; {student: seconds} of this run."""
    say = course.say
    say(f"autograde: course {course.root}")
    students = collect(course) if do_collect else course.submitted()
    todo = [s for s in students if force or not
            (Path(course.root) / "autograded" / s / ASSIGNMENT).is_dir()]
    if not todo:
        say("  nothing new to autograde (add --force to grade everything again)")
    progress = _AutogradeProgress(say, len(todo))
    started = time.monotonic()
    args = ["autograde", ASSIGNMENT] + (["--force"] if force else [])
    failure = None
    try:
        course.nbgrader(*args, on_line=progress.line, ended=progress.finish,
                        what=f"{len(todo)} submissions in {Path(course.root) / 'autograded'}")
    except LoopError as exc:     # nbgrader goes on after a failed student: show the others
        failure = exc
    seconds = progress.seconds
    if progress.skipped:
        say(f"  {len(progress.skipped)} autograded before, left as they are "
            "(--force, or make autograde FORCE=1, grades them again)")
    if seconds:
        say(f"  {len(seconds)} autograded in {time.monotonic() - started:.1f} s, "
            f"{sum(seconds.values()) / len(seconds):.1f} s per student on average")
    scores = gradebook_scores(course)
    rows = [[s, *(f"{scores[s][c]:g}" for c in CLASSES), f"{sum(scores[s].values()):g}",
             f"{seconds[s]:.1f}" if s in seconds else "-"] for s in sorted(scores)]
    say.table(f"nbgrader scores ({len(scores)} students)",
              ["student", *CLASSES, "total", "seconds"], rows)
    if failure is not None:
        raise failure
    return seconds


def feedback(course):
    """generate_feedback, release_feedback and the leak scan of the pages; the pages' paths."""
    say = course.say
    say(f"feedback: course {course.root}")
    course.nbgrader("generate_feedback", ASSIGNMENT, "--force",
                    what=f"HTML in {Path(course.root) / 'feedback'}")
    problems, pages = scan_feedback(course)
    if problems:
        raise LoopError("LEAK in the feedback pages: nothing was released\n  "
                        + "\n  ".join(problems))
    say(f"  leak scan of {len(pages)} feedback pages: clean (no hidden test code, no solution "
        "code the student did not write)")
    course.nbgrader("release_feedback", ASSIGNMENT,
                    what=f"to {course.exchange_root / COURSE_ID / 'feedback'}")
    return pages


# --- grades, cross-checked -----------------------------------------------------------------------

# What a failed test's feedback says when the code never gave an answer, most telling first.
REASONS = (("timed out", ("did not finish within", "of CPU time: an endless loop")),
           ("crashed", ("the process running your code ended", "sent garbage")),
           ("syntax error", ("SyntaxError",)),
           ("no class", ("no class ",)),
           ("not implemented", ("NotImplementedError",)))


def grader_status(results):
    """{class: why it lost points} from a results.json of `python -m grading grade`:
    "timed out", "crashed", "syntax error", "no class", "not implemented", "tests failed"."""
    kinds = {}
    for test in results.get("tests", []):
        if test.get("status") == "passed":
            continue
        cls = CLASSES[int(str(test["number"]).split(".")[0]) - 1]
        text = test.get("output", "")
        kind = next((k for k, words in REASONS if any(w in text for w in words)), "tests failed")
        best = kinds.get(cls)
        order = [k for k, _ in REASONS] + ["tests failed"]
        if best is None or order.index(kind) < order.index(best):
            kinds[cls] = kind
    return kinds


def describe(kinds):
    if not kinds:
        return "ok"
    groups = {}
    for cls in CLASSES:
        if cls in kinds:
            groups.setdefault(kinds[cls], []).append(cls)
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items())


def regrade(course, out):
    """`python -m grading grade` on every submitted notebook, outside nbgrader and any
    student kernel: {student: results dict}."""
    students = course.submitted()
    paths = [str(course.submitted_notebook(s)) for s in students]
    if not paths:
        return {}
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "grading", "grade", *paths, "--out", str(out), "--quiet",
           "--timeout", f"{ba.NBCELL_TIMEOUT:g}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=tool_env())
    results = {}
    for s in students:
        path = Path(out) / s / "results.json"
        if path.exists():
            results[s] = json.loads(path.read_text(encoding="utf-8"))
    if not results:
        raise LoopError("python -m grading grade gave no results:\n" + done.stderr[-2000:])
    return results


@dataclass
class GradeRow:
    student: str
    nbgrader: dict          # class -> points (None: not autograded)
    grader: dict            # class -> points of the re-grade (None: none)
    status: str

    @property
    def total(self):
        return None if self.nbgrader is None else sum(self.nbgrader.values())

    @property
    def grader_total(self):
        return None if self.grader is None else sum(self.grader.values())


def grade_rows(nb_scores, results):
    rows = []
    for student in sorted(set(nb_scores) | set(results)):
        nb = nb_scores.get(student)
        r = results.get(student)
        grader = None
        if r is not None and not r["kata"].get("error"):
            grader = {c: float(r["kata"]["classes"].get(c, {}).get("score", 0.0)) for c in CLASSES}
        if nb is None:
            status = "not autograded"
        elif r is None:
            status = "not re-graded (no submitted notebook)"
        elif r["kata"].get("error"):
            status = "grader error: " + r["kata"]["error"]
        else:
            status = describe(grader_status(r))
            if any(abs(nb[c] - grader[c]) > 1e-6 for c in CLASSES):
                differ = ", ".join(f"{c} {nb[c]:g} vs {grader[c]:g}" for c in CLASSES
                                   if abs(nb[c] - grader[c]) > 1e-6)
                status = (f"MISMATCH: nbgrader {sum(nb.values()):g}, grader "
                          f"{sum(grader.values()):g} — the notebook may have tampered with its "
                          f"kernel ({differ}); grader: {status}")
        rows.append(GradeRow(student, nb, grader, status))
    return rows


def write_grades_csv(rows, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", *CLASSES, "total", "max", "grader_total", "status"])
        for row in rows:
            nb = row.nbgrader or {}
            w.writerow([row.student, *(f"{nb[c]:g}" if c in nb else "" for c in CLASSES),
                        "" if row.total is None else f"{row.total:g}", f"{FULL * len(CLASSES):g}",
                        "" if row.grader_total is None else f"{row.grader_total:g}", row.status])
    return path


def grades(course, out=REPO / "graded"):
    """nbgrader export, then graded/nbgrader-grades.csv: nbgrader's points per class, the
    grader's total, and a status (why points were lost; MISMATCH when they disagree)."""
    say = course.say
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"grades: course {course.root}")
    export = out / "nbgrader-export.csv"
    course.nbgrader("export", f"--to={export}", what=f"nbgrader's own table in {export}")
    started = time.monotonic()
    results = regrade(course, out / "nbgrader-regrade")
    say(f"  re-graded {len(results)} submitted notebooks with `python -m grading grade` "
        f"({time.monotonic() - started:.1f} s): {out / 'nbgrader-regrade'}")
    rows = grade_rows(gradebook_scores(course), results)
    path = write_grades_csv(rows, out / "nbgrader-grades.csv")
    show = [[r.student, *((f"{r.nbgrader[c]:g}" if r.nbgrader else "-") for c in CLASSES),
             "-" if r.total is None else f"{r.total:g}",
             "-" if r.grader_total is None else f"{r.grader_total:g}", r.status] for r in rows]
    say.table(f"grades ({path})", ["student", *CLASSES, "total", "grader", "status"], show)
    mismatches = [r.student for r in rows if r.status.startswith("MISMATCH")]
    if mismatches:
        say(f"  {len(mismatches)} MISMATCH: nbgrader's score is not the grader's for "
            + ", ".join(mismatches) + ". Look at their notebooks before publishing grades.",
            style="bold red")
    return rows, path


# --- students (for the demo and the selftest) -----------------------------------------------------

STUDENT_CONFIG = '''\
# A simulated student's nbgrader configuration (written by grading/course/loop.py).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
c.Exchange.cache = {cache!r}
'''


def student_folder(work, student, exchange):
    folder = Path(work) / student
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(STUDENT_CONFIG.format(
        course_id=COURSE_ID, exchange=str(exchange), cache=str(folder / ".nbgrader-cache")))
    return folder


def student_nbgrader(folder, *args):
    code, lines = run_tool([_bin("nbgrader"), *args], folder, tool_env())
    if code != 0:
        raise LoopError(f"{folder.name}: nbgrader {' '.join(args)} failed (exit {code}):\n"
                        + "\n".join(lines)[-2000:])
    return lines


def student_turn(folder, sample):
    """fetch_assignment, fill in the notebook as the sample says, submit."""
    from grading.course import samples
    student_nbgrader(folder, "fetch_assignment", ASSIGNMENT)
    samples.fill_file(folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", sample)
    student_nbgrader(folder, "submit", ASSIGNMENT, f"--student={sample.student}")


def fetch_feedback(folder, student):
    student_nbgrader(folder, "fetch_feedback", ASSIGNMENT, f"--student={student}")
    return sorted((folder / ASSIGNMENT / "feedback").glob("*/*.html"))


def _parallel(func, items, jobs=None):
    """func(item) for every item, a few at a time; the first error is raised after all ran."""
    jobs = jobs or max(2, min(len(items), (os.cpu_count() or 1) * 2))
    with futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(lambda item: _catch(func, item), items))
    for result in done:
        if isinstance(result, BaseException):
            raise result
    return done


def _catch(func, item):
    try:
        return func(item)
    except Exception as exc:      # noqa: BLE001 - handed back, raised by _parallel
        return exc


@dataclass
class LoopResult:
    work: Path
    course: Course = None
    kit: Path = None
    autograde_seconds: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    grades_csv: Path = None
    export_csv: Path = None
    instructor_pages: list = field(default_factory=list)
    student_pages: dict = field(default_factory=dict)
    phases: dict = field(default_factory=dict)


def exchange_loop(work, sample_list, say=None):
    """The whole course on sample students, in `work`: release (with kit), each student
    fetches, fills in and submits, collect, autograde, feedback (released and fetched),
    grades. Raises LoopError on a failed step or a leak."""
    work = Path(work)
    say = say or Say()
    course = Course(root=work / "course", exchange=work / "exchange",
                    nbcell_cache=work / "nbcell-cache", check_owner=False, say=say)
    source = Path(course.root) / "source" / ASSIGNMENT
    source.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ba.NOTEBOOK, source / ba.NOTEBOOK.name)
    course.exchange_root.mkdir(parents=True, exist_ok=True)
    result = LoopResult(work, course)

    def phase(name, func, *args, **kwargs):
        t0 = time.monotonic()
        value = func(*args, **kwargs)
        result.phases[name] = time.monotonic() - t0
        return value

    _, result.kit = phase("release", release, course, kit=work / "dist" / "student-kit.zip")
    say(f"students: {len(sample_list)} fetch, fill in and submit, in {work / 'students'}")
    folders = {s.student: student_folder(work / "students", s.student, course.exchange_root)
               for s in sample_list}
    phase("students", _parallel, lambda s: student_turn(folders[s.student], s), sample_list)
    for s in sample_list:
        say(f"  {s.student:<10} {s.what}")
    result.autograde_seconds = phase("autograde", autograde, course)
    result.instructor_pages = phase("feedback", feedback, course)
    pages = phase("fetch_feedback", _parallel,
                  lambda s: fetch_feedback(folders[s.student], s.student), sample_list)
    result.student_pages = {s.student: p for s, p in zip(sample_list, pages)}
    say(f"  {sum(map(len, pages))} feedback pages fetched by the students")
    result.rows, result.grades_csv = phase("grades", grades, course, work / "graded")
    result.export_csv = work / "graded" / "nbgrader-export.csv"
    return result


def demo(work=REPO / "demo"):
    """`make demo`: the exchange loop on the bundled samples in demo/ (made afresh)."""
    from grading.course import samples
    work = Path(work)
    say = Say()
    started = time.monotonic()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    sample_list = samples.build_samples()
    say(f"demo: the instructor's work on {len(sample_list)} sample students, in {work}")
    result = exchange_loop(work, sample_list, say)
    say("")
    say("Feedback pages, as each student fetched them:")
    for s in sample_list:
        for page in result.student_pages.get(s.student, []):
            say(f"  {s.student:<10} {page}")
    say("")
    say(f"Where things are (all under {work}; the next demo starts afresh):")
    for rel, what in (("exchange", "the nbgrader exchange (outbound, inbound, feedback)"),
                      ("students/<id>", "each student's folder: the fetched notebook, feedback/"),
                      ("course", "the course: release/, submitted/, autograded/, feedback/, gradebook.db"),
                      ("graded/nbgrader-grades.csv", "per class, total, grader total, status"),
                      ("graded/nbgrader-export.csv", "nbgrader's own export"),
                      ("graded/nbgrader-regrade", "results.json of the cross-check per student"),
                      ("dist/student-kit.zip", "the student kit of this release")):
        say(f"  {rel:<28} {what}")
    say("")
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items())
    say(f"demo finished in {time.monotonic() - started:.1f} s ({phases})")
    unexpected = check_samples(result, sample_list)
    for problem in unexpected:
        say("  unexpected: " + problem, style="bold red")
    return 1 if unexpected else 0


def check_samples(result, sample_list):
    """Problems: a sample whose nbgrader or grader scores, or status, are not the expected ones."""
    problems = []
    rows = {r.student: r for r in result.rows}
    for s in sample_list:
        row = rows.get(s.student)
        if row is None or row.nbgrader is None:
            problems.append(f"{s.student}: not autograded")
            continue
        for cls in CLASSES:
            if abs(row.nbgrader[cls] - s.expected[cls]) > 1e-6:
                problems.append(f"{s.student}: nbgrader gave {cls} {row.nbgrader[cls]:g}, "
                                f"expected {s.expected[cls]:g}")
            want = s.grader_expected()[cls]
            if row.grader is None or abs(row.grader[cls] - want) > 1e-6:
                got = "nothing" if row.grader is None else f"{row.grader[cls]:g}"
                problems.append(f"{s.student}: the grader gave {cls} {got}, expected {want:g}")
        if s.status not in row.status:
            problems.append(f"{s.student}: status {row.status!r} does not say {s.status!r}")
    return problems


# --- command line ----------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m grading.course.loop",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["release", "collect", "autograde", "feedback", "grades",
                                       "demo"])
    p.add_argument("--exchange", help="the exchange folder (default: $KATA_EXCHANGE, else "
                                      f"{DEFAULT_EXCHANGE})")
    p.add_argument("--course", default=str(COURSE_DIR),
                   help="the course's root folder (default: grading/course)")
    p.add_argument("--force", action="store_true",
                   help="autograde: grade again what was graded before")
    p.add_argument("--out", default=str(REPO / "graded"),
                   help="grades: folder for nbgrader-grades.csv (default: graded/)")
    p.add_argument("--kit", default=str(REPO / "dist" / "student-kit.zip"),
                   help="release: where the student kit goes")
    p.add_argument("--work", default=str(REPO / "demo"), help="demo: its folder (made afresh)")
    args = p.parse_args(argv)
    # nbgrader runs in grading/course: every path it gets must be absolute.
    course = Course(root=Path(args.course).resolve(),
                    exchange=Path(args.exchange).resolve() if args.exchange else None)
    try:
        if args.command == "release":
            release(course, kit=Path(args.kit).resolve())
        elif args.command == "collect":
            collect(course)
        elif args.command == "autograde":
            autograde(course, force=args.force)
        elif args.command == "feedback":
            feedback(course)
        elif args.command == "grades":
            rows, _ = grades(course, Path(args.out).resolve())
            return 1 if any(r.status.startswith("MISMATCH") for r in rows) else 0
        elif args.command == "demo":
            return demo(Path(args.work).resolve())
    except LoopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
