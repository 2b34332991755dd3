"""The nbgrader course: the exchange loop with honest and hostile students, the kit, refusals."""
import base64
import hashlib
import html
import os
import re
import shutil
import tempfile
import zlib
from pathlib import Path

from grading.proofs import ROOT, step

# Parallel and sequential autograde are compared on these (cheap, and every kind of row:
# full marks, stubs, a MISMATCH).
SEQUENTIAL_SUBSET = ("complete", "partial", "tamper")
SKIP = {".venv", ".git", "demo", "graded", "dist", "__pycache__", ".pytest_cache"}


def _tree_hashes(top, skip=SKIP):
    """{relative path: sha256} of every file under `top` (skipping build and venv folders)."""
    top = Path(top)
    found = {}
    if not top.exists():
        return found
    for dirpath, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
        for name in files:
            path = Path(dirpath, name)
            try:
                found[path.relative_to(top).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                pass
    return found


def _changed(before, after):
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def _notebook_text(path):
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")) + str(out.get("evalue", ""))
                         + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _lingering():
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"kata-hog-linger" in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@step("nbgrader exchange loop: sandboxed kernels, trusted scores, hostile students, JOBS=2 = sequential")
def nbgrader_exchange_loop(problems):
    from grading.course import autograde as ag
    from grading.course import demo, leakscan, runner, samples
    from grading.course.kernel import CGROUP_PREFIX
    from grading.sandbox.cgroup import leftovers
    from grading.course.feedback import scan_feedback
    from grading.course.grades import read_export
    repo_before = _tree_hashes(ROOT)
    with tempfile.TemporaryDirectory(prefix="kata-loop-") as tmp:
        work = Path(tmp, "work")
        sample_list = samples.build_samples(demo.course_paths(work))
        snapshot = {}

        def before_autograde(course):
            ag.collect(course)
            # A due date before every submission: late flags to compare, too.
            import datetime
            from nbgrader.api import Gradebook
            with Gradebook(course.db_url) as gb:
                gb.update_or_create_assignment("backprop", duedate=datetime.datetime(2026, 1, 1))
            for name in ("submitted", "source", "release"):
                snapshot[name] = _tree_hashes(Path(course.root) / name)
            snapshot["exchange"] = _tree_hashes(course.exchange_root)
            snapshot["seq"] = Path(tmp, "sequential")
            shutil.copytree(course.root, snapshot["seq"])

        try:
            result = demo.exchange_loop(work, sample_list, runner.Say(quiet=True), jobs=2,
                                        before_autograde=before_autograde)
        except runner.LoopError as exc:       # a failed nbgrader command, or a leak
            problems.append(str(exc))
            return
        course = result.course
        # 1. Scores: trusted as each sample expects, claims as its kernel made them.
        problems.extend(demo.check_samples(result, sample_list))
        # 2. Every hostile attempt was blocked, and tried at all.
        for s in sample_list:
            if not s.hostile:
                continue
            text = _notebook_text(Path(course.root, "autograded", s.student, "backprop", "backprop.ipynb"))
            probes = re.findall(r"PROBE .*", text)
            problems.expect(probes, f"{s.student}: its notebook printed no PROBE line")
            problems.extend(f"{s.student}: {p}" for p in probes if ": GOT" in p)
            for seen in re.findall(r"SEES .*", text):
                for word in ("solutions", "gradebook", "submitted", "exchange", ".ssh", "judge"):
                    problems.expect(word not in seen.split(":", 1)[1], f"{s.student}: {seen}")
        # 3. Nothing of the course changed under the students' kernels.
        for name in ("submitted", "source", "release"):
            changed = _changed(snapshot[name], _tree_hashes(Path(course.root) / name))
            problems.expect(not changed, f"course {name}/ changed during autograde: {changed[:5]}")
        exchange_now = {k: v for k, v in _tree_hashes(course.exchange_root).items()
                        if "/feedback/" not in k}
        changed = _changed(snapshot["exchange"], exchange_now)
        problems.expect(not changed, f"the exchange changed during autograde: {changed[:5]}")
        # 4. Nothing left: processes, cgroups, socket folders, verdict files.
        problems.expect(not _lingering(), f"processes outlived their kernel: {_lingering()}")
        problems.expect(not leftovers(CGROUP_PREFIX), f"cgroups left: {leftovers(CGROUP_PREFIX)}")
        shm = [p for p in ("/dev/shm", tempfile.gettempdir()) for p in Path(p).glob("kata-kernel-*")
               if p.stat().st_uid == os.getuid()]
        problems.expect(not shm, f"kernel folders left: {shm}")
        left = [p for p in ("/tmp", "/dev/shm", str(Path.home()))
                if Path(p, "kata-vandal-was-here").exists()]
        problems.expect(not left, f"a kernel left files outside its box: {left}")
        # 5. export (nbgrader's), formgrader's data (the gradebook) and the CSV agree.
        exported = read_export(result.export_csv)
        from nbgrader.api import Gradebook
        with Gradebook(course.db_url) as gb:
            formgrader = {s.student_id: s.score for s in gb.assignment_submissions("backprop")}
        for row in result.rows:
            want = row.total
            problems.expect(want is not None and abs(exported.get(row.student, -1) - want) < 1e-6
                            and abs(formgrader.get(row.student, -1) - want) < 1e-6,
                            f"{row.student}: export {exported.get(row.student)}, gradebook "
                            f"{formgrader.get(row.student)}, CSV {want}")
        # 6. Feedback: clean of secrets (also encoded), PASS/FAIL and points per test, no
        #    seeds, isolation mode or paths; the forgers' pages show the trusted verdicts.
        leaks, pages = scan_feedback(course)
        problems.extend(leaks)
        problems.expect(len(pages) == len(sample_list), f"{len(pages)} feedback pages for "
                        f"{len(sample_list)} students")
        for s in sample_list:
            fetched = result.student_pages.get(s.student) or []
            problems.expect(fetched, f"{s.student}: fetch_feedback brought no feedback page")
            for page in fetched:
                text = html.unescape(page.read_text(encoding="utf-8"))
                private = ("data seed", "isolation", "bubblewrap") + (() if s.hostile else (str(ROOT),))
                for word in private:        # (hostile cells print the paths they aim at)
                    problems.expect(word not in text, f"{s.student}'s feedback shows {word!r}")
                for cls in s.expected:      # the graded cells show the trusted verdicts
                    problems.expect(f"{cls}: {s.expected[cls]:g} / 25" in text,
                                    f"{s.student}'s feedback does not show the trusted "
                                    f"{cls}: {s.expected[cls]:g} / 25")
                marks = re.findall(r"(PASS|FAIL)  \d+/\d+  ", text)
                problems.expect(len(marks) >= 20, f"{s.student}'s feedback marks {len(marks)} "
                                "tests with PASS/FAIL and points (every test should be)")
        # 7. The scans find what is planted (plain and encoded).
        secret = leakscan.secret_lines()
        planted = [next(line for line, kind in secret.items() if kind == k)
                   for k in ("hidden test code", "solution code")]
        page = "<pre>" + "\n".join(f"<span>{html.escape(x)}</span>" for x in planted) + "</pre>"
        problems.expect(len(leakscan.scan_lines("planted", leakscan.html_lines(page), secret)) == 2,
                        "the feedback scan does not find planted hidden test and solution lines")
        blob = base64.b64encode(zlib.compress((ROOT / "solutions" / "layers.py").read_bytes())).decode()
        problems.expect(leakscan.scan_lines("planted", [f"BLOB {blob}"], secret, decode=True),
                        "the feedback scan does not find a zlib+base64-encoded solution")
        # 8. JOBS=2 leaves the gradebook a sequential run leaves (on a copy, a few students).
        seq = runner.Course(root=snapshot["seq"], exchange=course.exchange_root, say=runner.Say(quiet=True))
        try:
            ag.autograde(seq, do_collect=False, jobs=1, students=SEQUENTIAL_SUBSET)
        except runner.LoopError as exc:
            problems.append(f"sequential autograde: {exc}")
        parallel = ag.gradebook_digest(course.db_url, SEQUENTIAL_SUBSET)
        sequential = ag.gradebook_digest(seq.db_url, SEQUENTIAL_SUBSET)
        problems.expect(parallel == sequential and len(parallel) == len(SEQUENTIAL_SUBSET),
                        f"JOBS=2 and JOBS=1 gradebooks differ: {parallel} vs {sequential}")
        problems.expect(all(d["late"] > 0 for d in parallel.values()),
                        f"the late flags were not compared (no submission late): {parallel}")
        _print_table(result, sample_list)
    changed = _changed(repo_before, _tree_hashes(ROOT))
    problems.expect(not changed, f"the checkout changed: {changed[:10]}")


def _print_table(result, sample_list):
    from grading.judge import CLASSES
    rows = {r.student: r for r in result.rows}
    print("   student   " + " ".join(f"{c:>7}" for c in CLASSES) + "  trusted kernel  seconds  status")
    for s in sample_list:
        row = rows.get(s.student)
        if row is None or row.trusted is None:
            continue
        cells = " ".join(f"{row.trusted[c]:>7g}" for c in CLASSES)
        seconds = result.autograde_seconds.get(s.student, float("nan"))
        print(f"   {s.student:<9} {cells} {row.total:>8g} {row.kernel_total or 0:>6g} "
              f"{seconds:>7.1f}  {row.status[:70]}")
    print("   phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items()))


@step("nbgrader course: the student kit, built from solutions/, holds only the student's part")
def nbgrader_student_kit(problems):
    import subprocess
    import zipfile
    from grading.course import kit
    files = kit.prepare()
    from grading.tools import gen_stubs
    for name in ("layers.py", "optimizer.py"):
        want = gen_stubs.stub_source((ROOT / "solutions" / name).read_text(encoding="utf-8"),
                                     str(ROOT / "solutions" / name))
        problems.expect(files.get(f"exercises/{name}", b"").decode() == want,
                        f"kit exercises/{name} is not the stub generator's output of solutions/")
    with tempfile.TemporaryDirectory() as tmp:
        path = kit.write_zip(files, Path(tmp, "kit.zip"))
        with zipfile.ZipFile(path) as z:
            z.extractall(tmp)
        folder = Path(tmp, kit.PREFIX)
        done = subprocess.run(["make", "-s", "help"], cwd=folder, capture_output=True, text=True)
        listed = re.findall(r"make (\S+)", done.stdout)
        problems.expect(done.returncode == 0 and "test" in listed, f"kit make help: {done.stdout}{done.stderr}")
        problems.expect(not set(listed) & set(kit.INSTRUCTOR_TARGETS),
                        f"the kit's make help lists {set(listed) & set(kit.INSTRUCTOR_TARGETS)}")
        text = "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
        problems.expect("IMPL=solutions" not in text, "the kit mentions IMPL=solutions")
        problems.expect(not re.search(r"pip install[^\n]*-e \.", text),
                        "the kit installs itself editable (leaves *.egg-info in the student's folder)")
        bad = Path(tmp, "bad.zip")
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr(kit.PREFIX + "solutions/layers.py", (ROOT / "solutions" / "layers.py").read_text())
        problems.expect(len(kit.scan_kit(bad)) >= 3, "the kit scan lets solutions/ through")


@step("nbgrader course: a refused release publishes nothing; nothing submitted says so; no sandbox refuses")
def nbgrader_refusals(problems):
    import subprocess
    import sys
    from grading.course import autograde as ag
    from grading.course import jail, kit, release, runner
    with tempfile.TemporaryDirectory() as tmp:
        # A kit that would leak: the release stops before the exchange or dist/ see anything.
        course = runner.Course(root=Path(tmp, "course"), exchange=Path(tmp, "exchange"),
                               say=runner.Say(quiet=True))
        saved = kit.scan_files
        kit.scan_files = lambda files, secret=None: ["kit: exercises/layers.py: solution code: (planted)"]
        try:
            release.release(course, kit=Path(tmp, "dist", "kit.zip"))
            problems.append("a release whose kit leaks went through")
        except runner.LoopError as exc:
            problems.expect("nothing was released" in str(exc) and "(planted)" in str(exc),
                            f"the refused release does not name its cause: {exc}")
        finally:
            kit.scan_files = saved
        left = [p.name for p in Path(tmp).iterdir()]
        problems.expect(left == [], f"a refused release left {left}")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "grading.course.loop", "autograde",
                               "--course", tmp, "--exchange", tmp], capture_output=True,
                              text=True, cwd=ROOT)
        out = done.stdout + done.stderr
        problems.expect(done.returncode == 0 and "nothing submitted yet" in out
                        and "Traceback" not in out and "--force" not in out,
                        f"autograde with nothing submitted: exit {done.returncode}: {out[-500:]}")
    saved = jail._problem
    try:
        jail._problem = "bubblewrap (bwrap) is not installed"
        say = runner.Say(quiet=True)
        try:
            ag.check_box(say)
            problems.append("autograde ran without a sandbox for the kernels")
        except runner.LoopError as exc:
            problems.expect("UNSAFE_KERNEL=1" in str(exc) and "bwrap" in str(exc),
                            f"the refusal does not say why and how to opt in: {exc}")
        os.environ[jail.OPT_IN] = "off"
        try:
            ag.check_box(say)
        except runner.LoopError:
            problems.append("KATA_KERNEL_SANDBOX=off does not let the instructor opt in")
    finally:
        jail._problem = saved
        os.environ.pop(jail.OPT_IN, None)
