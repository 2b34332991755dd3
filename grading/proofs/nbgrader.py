"""The whole nbgrader exchange loop on the demo's sample students."""
import tempfile
import zipfile
from pathlib import Path

from grading.proofs import ROOT, step


def _course_files():
    """What the nbgrader loop could leave in the repository: the course folder's files and
    the repository's top-level names (dist/, graded/, demo/ ...)."""
    course = ROOT / "grading" / "course"
    return ({p.relative_to(ROOT).as_posix() for p in course.rglob("*") if "__pycache__" not in p.parts}
            | {p.name for p in ROOT.iterdir()})


@step("nbgrader exchange loop: release, fetch, submit, collect, autograde, feedback, export (demo samples)")
def nbgrader_exchange_loop(problems):
    import csv
    import html
    from grading.course import loop, samples
    sample_list = samples.build_samples()
    before = _course_files()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = loop.exchange_loop(Path(tmp), sample_list, loop.Say(quiet=True))
        except loop.LoopError as exc:       # a failed nbgrader command, or a leak
            problems.append(str(exc))
            return
        # The leak scans passed inside the loop (a leak raises); scan again, and prove that
        # each scan finds what is planted in it.
        leaks, pages = loop.scan_feedback(result.course)
        problems.extend(leaks)
        problems.expect(len(pages) == len(sample_list), f"{len(pages)} feedback pages for "
                        f"{len(sample_list)} students")
        problems.extend(loop.scan_kit(result.kit))
        secret = loop.secret_lines()
        planted = [next(line for line, kind in secret.items() if kind == k)
                   for k in ("hidden test code", "solution code")]
        page = "<pre>" + "\n".join(f"<span>{html.escape(line)}</span>" for line in planted) + "</pre>"
        problems.expect(len(loop.scan_lines("planted", loop.html_lines(page), secret)) == 2,
                        "the feedback scan does not find planted hidden test and solution lines")
        bad_kit = Path(tmp, "bad-kit.zip")
        with zipfile.ZipFile(bad_kit, "w") as z:
            z.writestr(loop.KIT_PREFIX + "solutions/layers.py",
                       (ROOT / "solutions" / "layers.py").read_text())
        problems.expect(len(loop.scan_kit(bad_kit)) >= 3, "the kit scan lets solutions/ through")
        # Scores: as each sample expects, and nbgrader's equal to the grader's class by class
        # (except the sample that fakes nbgrader's verdicts from its kernel: MISMATCH).
        problems.extend(loop.check_samples(result, sample_list))
        rows = {r.student: r for r in result.rows}
        for s in sample_list:
            row = rows.get(s.student)
            if row is None or row.nbgrader is None or row.grader is None:
                continue
            differ = [c for c in row.nbgrader if abs(row.nbgrader[c] - row.grader[c]) > 1e-6]
            if s.grader is None:
                problems.expect(not differ, f"{s.student}: nbgrader and the grader differ in {differ}")
            else:
                problems.expect(differ and row.status.startswith("MISMATCH"),
                                f"{s.student}: the faked verdicts were not flagged ({row.status})")
            problems.expect(result.student_pages.get(s.student),
                            f"{s.student}: fetch_feedback brought no feedback page")
        endless = [p for s in sample_list if s.status == "timed out"
                   for p in result.student_pages.get(s.student, [])]
        problems.expect(all("an endless loop" in p.read_text() for p in endless),
                        "the endless loop's feedback does not say so")
        with open(result.export_csv, newline="") as f:
            exported = {row["student_id"] for row in csv.DictReader(f)}
        problems.expect(exported >= {s.student for s in sample_list},
                        f"nbgrader export lists {sorted(exported)}")
        print("   student    MatMul Sigmoid Affine SGD  grader  autograde  status")
        for s in sample_list:
            row = rows.get(s.student)
            if row is None or row.nbgrader is None:
                continue
            cells = " ".join(f"{row.nbgrader[c]:>{max(3, len(c))}g}" for c in row.nbgrader)
            seconds = result.autograde_seconds.get(s.student, float("nan"))
            print(f"   {s.student:<10} {cells} {row.grader_total or 0:>7g} {seconds:>8.1f} s  "
                  f"{row.status[:60]}")
        print("   phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items()))
    after = _course_files()
    problems.expect(after == before, f"the loop left files in the repository: {sorted(after ^ before)}")
