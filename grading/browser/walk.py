"""The student's walk through the fetched notebook in the browser, step by step, with what
each step must show (issue 11). Notebook-agnostic: the checks look at what a student sees
(outputs, the Validate dialog, the saved notebook), not at how the notebook does it.

    Walk(problems, server, you, artifacts).run()    # appends a sentence per thing wrong
"""
import json
import os
import time

from grading.browser import lab, student
from grading.course.runner import ASSIGNMENT, COURSE_ID
from grading.judge import CLASSES

BUDGET = 180            # seconds: after this, the remaining steps fail as "not run" (selftest: 5 min)
WRONG = "sgd_rebinds_loop_name"     # the catalogue's `p = p - lr * g`: one wrong class
READ_ONLY_PROBE = "tampered = 1  # 학생이 쓴 글 "    # typed into a read-only cell
# Words of a check that did not pass, in either language.
FAILURE_WORDS = ("✗", "fail", "error", "not implemented", "실패", "구현하지", "통과하지")


def filled_notebook(nb, mistakes=()):
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


class Walk:
    """The steps, in order; a step that raises is a problem, and the next step still runs
    (each starts from what the page shows). Screenshots and saved notebooks: `artifacts`."""

    STEPS = (("1. the fetched notebook opens, student tools only", "opens"),
             ("2. Run All on the stubs shows every class's state", "run_all_stubs"),
             ("3. Validate on the stubs fails and names the classes", "validate_stubs"),
             (f"4. one wrong class ({WRONG}): Run All and Validate say the same", "wrong_answer"),
             ("5. the reference in the solution cells: Run All passes, no stderr",
              "run_all_reference"),
             ("6. Validate on the reference succeeds", "validate_reference"),
             ("7. typing into a read-only cell is refused", "read_only"))

    def __init__(self, problems, server, you, artifacts):
        self.problems, self.server, self.you, self.artifacts = problems, server, you, artifacts

    def run(self):
        started = time.monotonic()
        for title, name in self.STEPS:
            if time.monotonic() - started > BUDGET:
                self.problems.append(f"{title}: not run, the browser step is past its {BUDGET} s budget")
                continue
            self._one(title, getattr(self, name))

    def _one(self, title, func):
        t0 = time.monotonic()
        before, shots = len(self.problems), len(self.you.taken)
        print(f"   {title}", flush=True)
        try:
            func()
        except Exception as exc:     # noqa: BLE001 - playwright's errors, ours: all one problem
            self.problems.append(f"{title}: {type(exc).__name__}: {str(exc)[:1500]}")
            try:
                self.you.shot("failed")
            except Exception:        # noqa: BLE001 - the page itself is gone
                pass
        verdict = "ok" if len(self.problems) == before else "FAILED"
        for path in self.you.taken[shots:]:
            print(f"      screenshot {os.path.relpath(path)}")
        print(f"      -> {verdict} ({time.monotonic() - t0:.1f} s)", flush=True)

    def saved(self, name):
        """The notebook as the browser saved it (read through the contents API), also kept
        with the screenshots as `name`.ipynb."""
        nb = self.server.read_notebook()
        (self.artifacts / f"{name}.ipynb").write_text(
            json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
        return nb

    # --- the steps -------------------------------------------------------------------------
    def opens(self):
        you, expect = self.you, self.problems.expect
        you.open_notebook(lab.NOTEBOOK)
        you.shot("opened")
        items = you.menu_items("Nbgrader")
        expect(not any(w in " ".join(items) for w in ("Formgrader", "Create")),
               f"the student's Nbgrader menu offers instructor tools: {items}")
        try:
            self.server.api("GET", "formgrader")
            self.problems.append("the student's server answers /formgrader")
        except lab.LabError:
            pass
        fetched = you.open_assignments()
        you.shot("assignments-panel")
        you.close_tab("Assignments")
        expect(ASSIGNMENT in fetched and COURSE_ID in fetched, "the Assignments panel does not "
               f"list {ASSIGNMENT} ({COURSE_ID}) as downloaded: {fetched!r}")
        print(f"      Nbgrader menu: {items}; Assignments panel, downloaded: {one_line(fetched)}")

    def run_all_stubs(self):
        you, expect = self.you, self.problems.expect
        seconds = you.run_all()
        you.save()
        cells = student.notebook_report(self.saved("stubs-run-all"))
        idle = [c["index"] for c in cells if not c["executed"]]
        expect(not idle, f"Run All on the stubs stopped early: cells {idle} never ran (every "
               "class must be defined and checked even when an earlier one is unfinished)")
        named = [c["index"] for c in cells if "NameError" in c["text"]]
        expect(not named, f"Run All on the stubs gives NameError in cells {named}")
        summary = self.show_summary()
        expect(summary is not None, "after Run All on the stubs no output shows every class's "
               f"state in one place (no output names all of {CLASSES})")
        you.shot("stubs-run-all")
        print(f"      Run All took {seconds:.1f} s")

    def validate_stubs(self):
        text = self.validate("stubs-validate")
        self.problems.expect("Success" not in text,
                             "Validate says Success on the untouched stubs: " + one_line(text))
        missing = [c for c in CLASSES if c not in text]
        self.problems.expect(not missing, f"Validate on the stubs does not name {missing}")

    def wrong_answer(self):
        from grading.course import samples
        you, expect = self.you, self.problems.expect
        wrong_class = samples.mistake_entries(WRONG)[0].cls
        self.server.write_notebook(filled_notebook(self.server.read_notebook(), [WRONG]))
        you.reload_from_disk()
        seconds = you.run_all()
        you.save()
        cells = student.notebook_report(self.saved("wrong-sgd-run-all"))
        idle = [c["index"] for c in cells if not c["executed"]]
        expect(not idle, f"Run All with a wrong {wrong_class}: cells {idle} never ran")
        # What the notebook tells the student about the wrong class (printed or raised):
        # Validate must say it in the same words.
        told = [line.strip() for c in cells for line in c["text"].splitlines()
                if wrong_class in line and len(line.strip()) > 15]
        expect(told, f"Run All with a wrong {wrong_class}: no output names it")
        others = [k for k in CLASSES if k != wrong_class
                  and any(k in line for c in cells for line in c["errors"])]
        expect(not others, f"Run All with only {wrong_class} wrong raises for {others} too")
        self.show_summary()
        you.shot("wrong-sgd-run-all")
        print(f"      Run All took {seconds:.1f} s")
        text = self.validate("wrong-sgd-validate")
        expect("Success" not in text, f"Validate says Success with a wrong {wrong_class}")
        named = [k for k in CLASSES if k in text]
        expect(named == [wrong_class], f"Validate with only {wrong_class} wrong names {named}")
        expect(told and any(line in text for line in told), "Validate does not say what the "
               f"notebook says about {wrong_class}: {told[:3]}")

    def run_all_reference(self):
        you, expect = self.you, self.problems.expect
        filled = filled_notebook(self.server.read_notebook())
        self.server.write_notebook(filled)
        you.reload_from_disk()
        seconds = you.run_all()
        you.save()
        saved = self.saved("reference-run-all")
        lost = [i for i, (a, b) in enumerate(zip(filled["cells"], saved["cells"]))
                if source_of(a) != source_of(b)]
        expect(not lost and len(filled["cells"]) == len(saved["cells"]),
               f"the page did not take the reference: cells {lost} differ from it")
        cells = student.notebook_report(saved)
        idle = [c["index"] for c in cells if not c["executed"]]
        expect(not idle, f"Run All on the reference: cells {idle} never ran")
        for c in cells:
            where = f"Run All on the reference: cell {c['index']}"
            expect(not c["errors"], f"{where} raised {c['errors']}")
            expect(not c["stderr"], f"{where} wrote to stderr: "
                   + one_line("".join(c["stderr"]))[:300])
            # A check may print its verdict instead of raising: none may say it failed.
            bad = [line.strip() for line in c["text"].splitlines()
                   if any(w in line.lower() for w in FAILURE_WORDS)]
            expect(not bad, f"{where} says " + " / ".join(bad[:3])[:300])
        if self.show_summary() is None:
            you.page.keyboard.press("Control+End")
        you.shot("reference-run-all")
        print(f"      Run All took {seconds:.1f} s")

    def validate_reference(self):
        text = self.validate("reference-validate")
        self.problems.expect("Success" in text and "fail" not in text.lower(),
                             "Validate on the reference does not succeed: " + one_line(text)[:1500])

    def read_only(self):
        you, expect = self.you, self.problems.expect
        nb = self.server.read_notebook()
        locked = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                  and c.get("metadata", {}).get("editable") is False]
        expect(locked, "the notebook has no read-only code cell")
        if not locked:
            return
        first_lines = {i: (source_of(nb["cells"][i]).splitlines() or [""])[0].lower() for i in locked}
        silent = [i for i, line in first_lines.items()
                  if "read-only" not in line and "읽기 전용" not in line]
        expect(not silent, f"read-only cells {silent} do not say so in their first line")
        # The first read-only cell (the imports) and the first graded one (a check cell: what
        # a student would most like to change). Collapsed cells are not typed into.
        graded = [i for i in locked if nb["cells"][i]["metadata"].get("nbgrader", {}).get("grade")]
        probes = sorted({locked[0], *graded[:1]})
        for index in probes:
            shown, mode = you.type_into_cell(index, READ_ONLY_PROBE)
            expect("tampered" not in shown, f"typing into read-only cell {index} changed its "
                   f"text ({mode} mode): {shown[:200]!r}")
            if index == probes[0]:
                you.shot("read-only-refused")
            you.page.keyboard.press("Escape")
        you.save()
        after = self.server.read_notebook()
        changed = [i for i in locked if source_of(after["cells"][i]) != source_of(nb["cells"][i])]
        expect(len(after["cells"]) == len(nb["cells"]) and not changed,
               f"after typing into read-only cells the saved notebook changed: {changed}")
        print(f"      typed {READ_ONLY_PROBE!r} into read-only cells {probes}: "
              + ("refused" if not changed else "ACCEPTED"))

    # --- shared moves ----------------------------------------------------------------------
    def show_summary(self):
        """Scroll to the output naming every class (the summary), else to the first error;
        the summary's text, or None."""
        summary = self.you.scroll_to_output(CLASSES)
        if summary is None:
            self.you.scroll_to_first_error()
        else:
            print("      summary: " + summary.strip().replace("\n", "\n               ")[:800])
        return summary

    def validate(self, shot):
        """Press Validate, keep a screenshot of its dialog, close it; the dialog's text."""
        text, seconds = self.you.validate()
        self.you.shot(shot)
        self.you.close_dialog()
        print(f"      Validate took {seconds:.1f} s and said: " + one_line(text)[:600])
        return text


def source_of(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def one_line(text):
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())
