"""A student's JupyterLab for the browser test.

The released notebook is laid out as a student gets it (release_assignment into a temporary
exchange, fetch_assignment into a temporary home), and JupyterLab serves that home on
127.0.0.1 with a random token, with nbgrader's student extensions only (as the README tells
instructors to set it up). `StudentLab` is a context manager: leaving it stops the server and
every process under it (kernels included), by pid.
"""
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grading.course import build_assignment as ba
from grading.course import demo, release, runner

STUDENT = "student"
NOTEBOOK = f"{ba.ASSIGNMENT}/{ba.ASSIGNMENT}.ipynb"      # where fetch_assignment puts it
# What a student's JupyterLab should not offer (the README's instructor notes): the
# instructor's panels, and the news pop-up, which would ask the network.
STUDENT_LAB_DISABLED = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                        "@jupyter/nbgrader:create-assignment",
                        "@jupyterlab/apputils-extension:announcements")
STUDENT_SERVER_DISABLED = ("nbgrader.server_extensions.formgrader",
                           "nbgrader.server_extensions.course_list")
START_TIMEOUT = 60          # seconds for JupyterLab to answer (two busy cores: be patient)


class LabError(Exception):
    """The student's JupyterLab could not be set up; the message says why."""


def lay_out(work):
    """Release the course's notebook into `work`/exchange and fetch it as a student into
    `work`/student (its nbgrader_config.py names the course and the exchange). The home."""
    work = Path(work)
    course = runner.Course(root=work / "course", exchange=work / "exchange",
                         check_owner=False, say=runner.Say(quiet=True))
    source = work / "course" / "source" / ba.ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy2(ba.NOTEBOOK, source / ba.NOTEBOOK.name)
    course.exchange_root.mkdir(parents=True)
    try:
        release.release(course, kit=None)
        home = demo.student_folder(work, STUDENT, course.exchange_root)
        demo.student_nbgrader(home, "fetch_assignment", ba.ASSIGNMENT)
    except runner.LoopError as exc:
        raise LabError(f"could not release and fetch the notebook: {exc}") from None
    if not (home / NOTEBOOK).is_file():
        raise LabError(f"fetch_assignment left no {NOTEBOOK} in {home}")
    return home


def student_env(home):
    """The environment of the student's Jupyter: its own home and Jupyter folders (nothing
    of the machine's user), the venv's tools first on PATH."""
    env = {k: v for k, v in runner.tool_env().items()
           if not k.startswith(("JUPYTER", "IPYTHON", "JPY_"))}
    home = Path(home)
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
               IPYTHONDIR=str(home / ".ipython"), PYTHONUNBUFFERED="1")
    return env


def _jupyter(*args, env, cwd):
    done = subprocess.run([runner.bin_path("jupyter"), *args], env=env, cwd=cwd, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise LabError(f"jupyter {' '.join(args)} failed (exit {done.returncode}):\n"
                       + (done.stdout + done.stderr)[-2000:])


def student_extensions_only(home):
    """The README's per-user setup: this home's JupyterLab offers nbgrader's Assignments
    panel and Validate button, not the formgrader, the course list or Create Assignment.
    Server extensions enabled for the whole environment cannot be switched off with
    `jupyter server extension disable --user` (it only edits extensions the user's own
    config lists), so the user's jupyter_server_config.json says it."""
    env = student_env(home)
    _jupyter("labextension", "disable", "--level=user", *STUDENT_LAB_DISABLED, env=env, cwd=home)
    config = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        name: False for name in STUDENT_SERVER_DISABLED}}}, indent=2) + "\n")


@contextlib.contextmanager
def fetched_and_served(work, timings=None):
    """The student's home in `work`, served: the release and fetch run in a thread while
    the student's extensions are set and JupyterLab starts (each mostly waits for Python
    to start). Yields the running `StudentLab`; `timings` gets the seconds of each part."""
    timings = {} if timings is None else timings
    home = Path(work) / STUDENT
    home.mkdir(parents=True)
    started = time.monotonic()

    def timed(name, func, *args):
        value = func(*args)
        timings[name] = time.monotonic() - started
        return value

    with ThreadPoolExecutor(1) as pool:
        laid_out = pool.submit(timed, "release and fetch", lay_out, work)
        try:
            timed("student extensions", student_extensions_only, home)
            server = StudentLab(home)
            with server:
                timings["JupyterLab up"] = time.monotonic() - started
                laid_out.result()
                yield server
        finally:
            laid_out.cancel()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StudentLab:
    """JupyterLab serving `home` on 127.0.0.1:<free port> with a token, its working directory
    the home (nbgrader's Validate reads nbgrader_config.py there). Log: `home`/../jupyter.log."""

    def __init__(self, home):
        self.home = Path(home)
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.log_path = self.home.parent / "jupyter.log"
        self.proc = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path=""):
        return f"{self.base}/{path.lstrip('/')}"

    def __enter__(self):
        cmd = [runner.bin_path("jupyter-lab"), "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.home}", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.home, env=student_env(self.home),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"JupyterLab exited (status {self.proc.returncode}) before it "
                               f"answered; its log ({self.log_path}):\n{self.log_tail()}")
            try:
                self.api("GET", "api/status")
                return
            except (OSError, LabError):
                time.sleep(0.2)
        raise LabError(f"JupyterLab did not answer on {self.base} within {START_TIMEOUT} s; "
                       f"its log ({self.log_path}):\n{self.log_tail()}")

    def log_tail(self, chars=3000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def api(self, method, path, body=None):
        """One request to the server's REST API with the token; the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise LabError(f"{method} {path}: HTTP {exc.code}") from None
        return json.loads(text) if text else None

    def read_notebook(self, path=NOTEBOOK):
        return self.api("GET", f"api/contents/{path}?content=1")["content"]

    def write_notebook(self, nb, path=NOTEBOOK):
        self.api("PUT", f"api/contents/{path}", {"type": "notebook", "format": "json",
                                                 "content": nb})

    def __exit__(self, *exc):
        """Stop the server and everything under it: a polite shutdown (which also ends the
        kernels), then SIGKILL for whatever is still there, each process by its pid."""
        if self.proc is None:
            return False
        try:
            import psutil
            family = [psutil.Process(self.proc.pid)]
            family += family[0].children(recursive=True)
        except Exception:            # noqa: BLE001 - gone already, or no psutil: the server alone
            family = []
        try:
            self.api("POST", "api/shutdown")
        except (OSError, LabError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for p in family:
            try:
                p.kill()
            except Exception:        # noqa: BLE001 - already gone
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._log.close()
        return False
