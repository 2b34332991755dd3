"""The student's notebook in a real JupyterLab 4 and headless Chromium (issue 11).

The released notebook is fetched as a student fetches it, served by JupyterLab with
nbgrader's student extensions only, and used through the page: Run All on the stubs,
Validate, the reference typed into the solution cells, Run All and Validate again, and a
try at editing a read-only cell. Screenshots of every step go to build/browser/.
"""
import json
import shutil
import tempfile
import time
from pathlib import Path

from grading.course.loop import ASSIGNMENT, COURSE_ID
from grading.proofs import ROOT, step

SHOTS = ROOT / "build" / "browser"
BUDGET = 180            # seconds: after this, the remaining steps fail as "not run" (selftest: 5 min)
READ_ONLY_PROBE = "tampered = 1  # 학생이 쓴 글 "    # typed into a read-only cell
# Words of a check that did not pass, in either language.
FAILURE_WORDS = ("✗", "fail", "error", "not implemented", "실패", "구현하지", "통과하지")


def _classes():
    from grading.judge import CLASSES
    return list(CLASSES)


WRONG = "sgd_rebinds_loop_name"     # the catalogue's `p = p - lr * g`: one wrong class


def _filled_notebook(nb, mistakes=()):
    """The fetched notebook with every solution cell holding the reference class (from
    solutions/), or the reference with these catalogue mistakes; no outputs."""
    import nbformat
    from grading.course import samples
    code = samples.classes_of(samples.with_mistakes(samples.mistake_entries(*mistakes)))
    sample = samples.Sample("browser", "reference" if not mistakes else ", ".join(mistakes),
                            code, samples.scores(samples.FULL))
    filled = samples.fill(nbformat.from_dict(nb), sample)
    for cell in filled.cells:        # as if never run: the page shows when it has reloaded
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return json.loads(nbformat.writes(filled))


class Steps:
    """Runs the student's steps in order; a step that raises is a problem, and the next
    step still runs (each one starts from what the page shows)."""

    def __init__(self, problems, student):
        self.problems, self.student = problems, student
        self.started = time.monotonic()

    def __call__(self, title, func):
        if time.monotonic() - self.started > BUDGET:
            self.problems.append(f"{title}: not run, the browser step is past its {BUDGET} s budget")
            return
        t0 = time.monotonic()
        before, shots = len(self.problems), len(self.student.taken)
        print(f"   {title}", flush=True)
        try:
            func()
        except Exception as exc:     # noqa: BLE001 - playwright's errors, ours: all one problem
            self.problems.append(f"{title}: {type(exc).__name__}: {str(exc)[:1500]}")
            try:
                self.student.shot("failed")
            except Exception:        # noqa: BLE001 - the page itself is gone
                pass
        verdict = "ok" if len(self.problems) == before else "FAILED"
        for path in self.student.taken[shots:]:
            print(f"      screenshot {path.relative_to(ROOT)}")
        print(f"      -> {verdict} ({time.monotonic() - t0:.1f} s)", flush=True)


@step("real browser: the fetched notebook in JupyterLab + headless Chromium (run all, Validate, reference, read-only)")
def browser_student_notebook(problems):
    from grading.browser import lab, student
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problems.append("playwright is not installed: `make install-instructor` installs it")
        return
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    print(f"   screenshots and logs: {SHOTS.relative_to(ROOT)}/", flush=True)
    with tempfile.TemporaryDirectory(prefix="kata-browser-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        try:
            home = lab.prepare(work)
        except lab.LabError as exc:
            problems.append(str(exc))
            return
        print(f"   released, fetched into a student's home with nbgrader's student extensions "
              f"only ({time.monotonic() - t0:.1f} s)", flush=True)
        family = []
        try:
            with lab.StudentLab(home) as server, sync_playwright() as pw:
                context = student.launch(pw, student.new_profile(work))
                try:
                    page = context.pages[0] if context.pages else context.new_page()
                    you = student.Student(page, server, SHOTS)
                    family = _descendants()
                    _student_steps(problems, server, you)
                    family += [p for p in _descendants() if p not in family]
                finally:
                    try:
                        context.close()
                    except Exception as exc:     # noqa: BLE001 - chromium died: say so
                        problems.append(f"chromium was gone before the end: {exc}")
        except (lab.LabError, student.BrowserError) as exc:
            problems.append(str(exc))
        finally:
            log = work / "jupyter.log"
            if log.exists():
                shutil.copy2(log, SHOTS / "jupyter.log")
    alive = _still_running(family)
    problems.expect(not alive, "processes the browser step started are still running: "
                    + ", ".join(alive))
    print(f"   every process it started has ended ({len(family)} checked: JupyterLab, kernels, "
          "chromium, playwright's driver)", flush=True)


def _student_steps(problems, server, you):
    from grading.browser import lab, student
    classes = _classes()
    steps = Steps(problems, you)

    def opens():
        you.open_notebook(lab.NOTEBOOK)
        you.shot("opened")
        items = you.menu_items("Nbgrader")
        problems.expect(not any(w in " ".join(items) for w in ("Formgrader", "Create")),
                        f"the student's Nbgrader menu offers instructor tools: {items}")
        try:
            server.api("GET", "formgrader")
            problems.append("the student's server answers /formgrader")
        except lab.LabError:
            pass
        fetched = you.open_assignments()
        you.shot("assignments-panel")
        you.close_tab("Assignments")
        problems.expect(ASSIGNMENT in fetched and COURSE_ID in fetched, "the Assignments panel "
                        f"does not list {ASSIGNMENT} ({COURSE_ID}) as downloaded: {fetched!r}")
        print(f"      Nbgrader menu: {items}; Assignments panel, downloaded: "
              + _one_line(fetched))

    def run_all_stubs():
        seconds = you.run_all()
        you.save()
        cells = student.notebook_report(_saved(server, "stubs-run-all"))
        idle = [c["index"] for c in cells if not c["executed"]]
        problems.expect(not idle, f"Run All on the stubs stopped early: cells {idle} never ran "
                        "(every class must be defined and checked even when an earlier one is "
                        "unfinished)")
        named = [c["index"] for c in cells if "NameError" in c["text"]]
        problems.expect(not named, f"Run All on the stubs gives NameError in cells {named}")
        summary = you.scroll_to_output(classes)
        problems.expect(summary is not None, "after Run All on the stubs no output shows every "
                        f"class's state in one place (no output names all of {classes})")
        if summary is None:
            you.scroll_to_first_error()
        else:
            print("      summary: " + summary.strip().replace("\n", "\n               ")[:800])
        you.shot("stubs-run-all")
        print(f"      Run All took {seconds:.1f} s")

    def validate_stubs():
        text, seconds = you.validate()
        you.shot("stubs-validate")
        you.close_dialog()
        print(f"      Validate took {seconds:.1f} s and said: " + _one_line(text))
        problems.expect("Success" not in text, "Validate says Success on the untouched stubs: "
                        + _one_line(text))
        missing = [c for c in classes if c not in text]
        problems.expect(not missing, f"Validate on the stubs does not name {missing}")

    def wrong_answer():
        from grading.course import samples
        wrong_class = samples.mistake_entries(WRONG)[0].cls
        server.write_notebook(_filled_notebook(server.read_notebook(), [WRONG]))
        you.reload_from_disk()
        seconds = you.run_all()
        you.save()
        cells = student.notebook_report(_saved(server, "wrong-sgd-run-all"))
        idle = [c["index"] for c in cells if not c["executed"]]
        problems.expect(not idle, f"Run All with a wrong {wrong_class}: cells {idle} never ran")
        # What the notebook tells the student about the wrong class (printed, or raised):
        # Validate must say it in the same words.
        told = [line.strip() for c in cells for line in c["text"].splitlines()
                if wrong_class in line and len(line.strip()) > 15]
        problems.expect(told, f"Run All with a wrong {wrong_class}: no output names it")
        wrong = [c for c in cells if c["errors"] or c["stderr"]]
        others = [k for k in classes if k != wrong_class
                  and any(k in line for c in wrong for line in c["errors"])]
        problems.expect(not others, f"Run All with only {wrong_class} wrong fails for {others} too")
        summary = you.scroll_to_output(classes)
        if summary is None:
            you.scroll_to_first_error()
        else:
            print("      summary: " + summary.strip().replace("\n", "\n               ")[:800])
        you.shot("wrong-sgd-run-all")
        text, vseconds = you.validate()
        you.shot("wrong-sgd-validate")
        you.close_dialog()
        print(f"      Run All took {seconds:.1f} s; Validate took {vseconds:.1f} s and said: "
              + _one_line(text)[:1200])
        problems.expect("Success" not in text, f"Validate says Success with a wrong {wrong_class}")
        named = [k for k in classes if k in text]
        problems.expect(named == [wrong_class], f"Validate with only {wrong_class} wrong names "
                        f"{named}")
        unsaid = [line for line in told if line not in text]
        problems.expect(told and len(unsaid) < len(told), "Validate does not say what the "
                        f"notebook's check says about {wrong_class}: {told[:3]}")

    def run_all_reference():
        filled = _filled_notebook(server.read_notebook())
        server.write_notebook(filled)
        you.reload_from_disk()
        seconds = you.run_all()
        you.save()
        saved = _saved(server, "reference-run-all")
        cells = student.notebook_report(saved)
        lost = [i for i, (a, b) in enumerate(zip(filled["cells"], saved["cells"]))
                if _source(a) != _source(b)]
        problems.expect(not lost and len(filled["cells"]) == len(saved["cells"]),
                        f"the page did not take the reference: cells {lost} differ from it")
        idle = [c["index"] for c in cells if not c["executed"]]
        problems.expect(not idle, f"Run All on the reference: cells {idle} never ran")
        for c in cells:
            problems.expect(not c["errors"], f"Run All on the reference: cell {c['index']} "
                            f"raised {c['errors']}")
            problems.expect(not c["stderr"], f"Run All on the reference: cell {c['index']} "
                            "wrote to stderr: " + _one_line("".join(c["stderr"]))[:300])
            # A check may print its verdict instead of raising: none may say "failed".
            bad = [line.strip() for line in c["text"].splitlines()
                   if any(w in line.lower() for w in FAILURE_WORDS)]
            problems.expect(not bad, f"Run All on the reference: cell {c['index']} says "
                            + " / ".join(bad[:3])[:300])
        if you.scroll_to_output(classes) is None:
            you.page.keyboard.press("Control+End")
        you.shot("reference-run-all")
        print(f"      Run All took {seconds:.1f} s")

    def validate_reference():
        text, seconds = you.validate()
        you.shot("reference-validate")
        you.close_dialog()
        print(f"      Validate took {seconds:.1f} s and said: " + _one_line(text))
        problems.expect("Success" in text and "fail" not in text.lower(),
                        "Validate on the reference does not succeed: " + _one_line(text)[:1500])

    def read_only():
        nb = server.read_notebook()
        locked = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                  and c.get("metadata", {}).get("editable") is False]
        problems.expect(locked, "the notebook has no read-only code cell")
        if not locked:
            return
        silent = [i for i in locked if not any(
            w in (_source(nb["cells"][i]).splitlines() or [""])[0].lower()
            for w in ("read-only", "읽기 전용"))]
        problems.expect(not silent, f"read-only cells {silent} do not say so in their first line")
        # The first read-only cell (the imports) and the first graded one (a check cell:
        # what a student would most like to change). Collapsed cells are not typed into.
        graded = [i for i in locked if nb["cells"][i]["metadata"].get("nbgrader", {}).get("grade")]
        probes = sorted({locked[0], *graded[:1]})
        for index in probes:
            _, shown, mode = you.type_into_cell(index, READ_ONLY_PROBE)
            problems.expect("tampered" not in shown, f"typing into read-only cell {index} "
                            f"changed its text ({mode} mode): {shown[:200]!r}")
            if index == probes[0]:
                you.shot("read-only-refused")
            you.page.keyboard.press("Escape")
        you.save()
        after = server.read_notebook()
        changed = [i for i in locked if _source(after["cells"][i]) != _source(nb["cells"][i])]
        problems.expect(len(after["cells"]) == len(nb["cells"]) and not changed,
                        f"after typing into read-only cells the saved notebook changed: {changed}")
        print(f"      typed {READ_ONLY_PROBE!r} into read-only cells {probes}: "
              + ("refused" if not changed else "ACCEPTED"))

    steps("1. the fetched notebook opens, student tools only", opens)
    steps("2. Run All on the stubs shows every class's state", run_all_stubs)
    steps("3. Validate on the stubs fails and names the classes", validate_stubs)
    steps(f"4. one wrong class ({WRONG}): Run All and Validate say the same", wrong_answer)
    steps("5. the reference in the solution cells: Run All passes, no stderr", run_all_reference)
    steps("6. Validate on the reference succeeds", validate_reference)
    steps("7. typing into a read-only cell is refused", read_only)


def _saved(server, name):
    """The notebook as the browser saved it (read through the contents API), also kept
    next to the screenshots as `name`.ipynb."""
    nb = server.read_notebook()
    (SHOTS / f"{name}.ipynb").write_text(json.dumps(nb, ensure_ascii=False, indent=1),
                                         encoding="utf-8")
    return nb


def _source(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _one_line(text):
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


def _descendants():
    """Every process under this one (JupyterLab, its kernels, playwright's driver, chromium)."""
    try:
        import os
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
