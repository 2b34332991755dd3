"""Running nbgrader for the course: where a course lives, one command, its log, the output.

Every stage (release.py, autograde.py, feedback.py, grades.py) runs nbgrader through
`Course.nbgrader`, with grading/course as the working directory (its nbgrader_config.py
is the course's configuration) and absolute paths for everything else.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.course import build_assignment as ba

COURSE_DIR = ba.COURSE                       # the configuration, and the real course's root
REPO = ba.REPO
ASSIGNMENT = ba.ASSIGNMENT
COURSE_ID = "backprop-kata"
DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"
# nbgrader log lines that say nothing to an instructor here:
NOISE = re.compile(
    r"SAWarning|^\s+(for notebook in|return \[x for x)"      # SQLAlchemy, from nbgrader's api.py
    r"|Kernel is running over TCP"                           # ipykernel's note on every start
    r"|Removing existing assignment"                         # what --force asks for
    # Hidden tests were cut from the released test cells, so their checksums always differ.
    r"|Attribute 'checksum' for cell \w+_tests has changed")


class LoopError(Exception):
    """A step failed; the message says which and why."""


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


def bin_path(name):
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
    check_owner: bool = True       # collect warns about files not owned by the student
    say: Say = field(default_factory=Say)
    log: list = field(default_factory=list)     # every nbgrader line, for the record

    @property
    def exchange_root(self):
        return Path(self.exchange or os.environ.get("KATA_EXCHANGE") or DEFAULT_EXCHANGE)

    @property
    def db_path(self):
        return Path(self.root) / "gradebook.db"

    @property
    def db_url(self):
        return "sqlite:///" + str(self.db_path)

    def overrides(self, db_url=None):
        args = []
        if Path(self.root).resolve() != COURSE_DIR.resolve() or db_url:
            args += [f"--CourseDirectory.root={self.root}",
                     f"--CourseDirectory.db_url={db_url or self.db_url}"]
        if self.exchange is not None:
            args.append(f"--Exchange.root={self.exchange}")
        return args

    def command(self, *args, db_url=None):
        return [bin_path("nbgrader"), *args, *self.overrides(db_url)]

    def nbgrader(self, *args, on_line=None, what=None, ended=None):
        """One nbgrader command in the course; raises LoopError when it fails.
        on_line(line): sees the log as it comes; ended(): called when the command ends."""
        started = time.monotonic()
        try:
            code, lines = run_tool(self.command(*args), COURSE_DIR, tool_env(), on_line)
        finally:
            if ended is not None:
                ended()
        self.log += lines
        seconds = time.monotonic() - started
        if code != 0:
            raise LoopError(f"nbgrader {' '.join(args)} failed (exit {code}):\n" + shown(lines))
        self.say(f"  nbgrader {' '.join(args)}: {what or 'done'} ({seconds:.1f} s)")
        return lines

    def submitted(self):
        """Student ids with a collected submission."""
        return sorted(p.parent.name for p in Path(self.root).glob(f"submitted/*/{ASSIGNMENT}")
                      if p.is_dir())

    def submitted_notebook(self, student):
        return Path(self.root) / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

    def autograded(self, student):
        return (Path(self.root) / "autograded" / student / ASSIGNMENT).is_dir()


def shown(lines, limit=3000):
    """The end of a log without nbgrader's noise."""
    return "\n".join(line for line in lines if not NOISE.search(line))[-limit:]
