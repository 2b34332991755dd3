"""The student's notebook in a real JupyterLab 4 and headless Chromium (issue 11).

The released notebook is fetched as a student fetches it, served by JupyterLab with
nbgrader's student extensions only, and used through the page (grading/browser/walk.py):
Run All on the stubs, Validate, one wrong class, the reference in the solution cells
(written through the contents API, reloaded from disk), Run All and Validate again, and a
try at editing a read-only cell. Screenshots and saved notebooks go to build/browser/.
"""
import os
import shutil
import tempfile
from pathlib import Path

from grading.proofs import ROOT, step

ARTIFACTS = ROOT / "build" / "browser"


@step("real browser: the fetched notebook in JupyterLab + headless Chromium (run all, Validate, reference, read-only)")
def browser_student_notebook(problems):
    from grading.browser import lab, student, walk
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problems.append("playwright is not installed: `make install-instructor` installs it")
        return
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"   screenshots and logs: {ARTIFACTS.relative_to(ROOT)}/", flush=True)
    with tempfile.TemporaryDirectory(prefix="kata-browser-") as tmp:
        work = Path(tmp)
        timings = {}
        family = {}         # every process seen under this one, and its name

        def seen():
            family.update({p: _name(p) for p in _descendants() if p not in family})

        try:
            with lab.fetched_and_served(work, timings) as server, sync_playwright() as pw:
                print("   released, fetched into a student's home, served with nbgrader's student "
                      "extensions only (" + ", ".join(f"{k} after {v:.1f} s" for k, v in
                                                      timings.items()) + ")", flush=True)
                seen()
                context = student.launch(pw, student.new_profile(work))
                try:
                    seen()
                    page = context.pages[0] if context.pages else context.new_page()
                    you = student.Student(page, server, ARTIFACTS)
                    walk.Walk(problems, server, you, ARTIFACTS).run()
                finally:
                    seen()
                    try:
                        context.close()
                    except Exception as exc:     # noqa: BLE001 - chromium died: say so
                        problems.append(f"chromium was gone before the end: {exc}")
        except (lab.LabError, student.BrowserError) as exc:
            problems.append(str(exc))
        finally:
            log = work / "jupyter.log"
            if log.exists():
                shutil.copy2(log, ARTIFACTS / "jupyter.log")
    alive = _still_running(family)
    problems.expect(not alive, "processes the browser step started are still running: "
                    + ", ".join(alive))
    names = sorted(set(family.values()))
    print(f"   every process it started has ended: {len(family)} ({', '.join(names)})", flush=True)


def _descendants():
    """Every process under this one (JupyterLab, its kernels, playwright's driver, chromium)."""
    try:
        import psutil
        return psutil.Process(os.getpid()).children(recursive=True)
    except Exception:                # noqa: BLE001 - no psutil: nothing to check
        return []


def _still_running(family):
    import psutil
    alive = []
    for p in family:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {p.name()}")
        except psutil.Error:
            pass
    return alive


def _name(process):
    try:
        return process.name()
    except Exception:                # noqa: BLE001 - psutil.Error: gone, name unknown
        return "?"
