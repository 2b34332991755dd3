"""`python -m grading grade` as a batch: output names, --out checks, the grade table."""
import csv
import json
import os
import re
import tempfile
import time
from pathlib import Path

from grading.proofs import PY, ROOT, _write, _zip, run, step


# --- names and --out ----------------------------------------------------------------------------

@step("batch: output names unique, inside --out, apart from grades.csv; each result names its source")
def batch_names(problems):
    from grading import catalogue
    reference = catalogue.reference_sources()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = tmp / "deep" / "subs"
        paths = [_write(subs / "p1" / "alice", reference), _write(subs / "p2" / "alice", reference),
                 _write(subs / "p3" / "alice-2", reference), _write(subs / "Bob", reference),
                 _write(subs / "p4" / "bob", reference), _write(subs / "grades.csv", reference),
                 _zip(subs / "...zip", {f"exercises/{k}": v for k, v in reference.items()}),
                 _zip(_write(subs / "p5", {}) / "..zip", {f"exercises/{k}": v for k, v in reference.items()}),
                 subs / "p1" / "alice" / ".."]
        out = tmp / "deep" / "out"
        before = sorted(p for p in tmp.rglob("*") if out not in p.parents)
        done = run([PY, "-m", "grading", "grade", *map(str, paths), "--out", str(out), "--quiet"])
        problems.expect(done.returncode == 0, f"grade exited {done.returncode}:\n{done.stderr[-2000:]}")
        after = sorted(p for p in tmp.rglob("*") if out not in p.parents and p != out)
        problems.expect(after == before, "files appeared outside --out: "
                        + ", ".join(str(p.relative_to(tmp)) for p in set(after) - set(before)))
        grades = out / "grades.csv"
        rows = list(csv.DictReader(grades.read_text().splitlines())) if grades.is_file() else []
        problems.expect(grades.is_file(), "grades.csv is missing or not a file")
        problems.expect(len(rows) == len(paths) and len({r["submission"].casefold() for r in rows}) == len(paths),
                        f"{len(paths)} submissions gave {len(rows)} rows: {[r['submission'] for r in rows]}")
        sources = set()
        for row in rows:
            results = out / row["submission"] / "results.json"
            data = json.loads(results.read_text()) if results.is_file() else {}
            problems.expect(data.get("score") == 100 and row["status"] == "graded",
                            f"{row['submission']}: {data.get('score')} ({row['status']})")
            sources.add(data.get("kata", {}).get("source"))
        problems.expect(sources == {str(p) for p in paths},
                        f"the results' sources {sorted(map(str, sources))} are not the inputs")
        print("   " + ", ".join(f"{p.relative_to(subs)} -> {r['submission']}"
                                for p, r in zip(paths, sorted(rows, key=lambda r: paths.index(Path(r['source']))))))


@step("batch: an odd or unwritable --out is refused with a message before grading starts")
def batch_out_checks(problems):
    from grading import catalogue
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sub = _write(tmp / "alice", catalogue.reference_sources())
        a_file = tmp / "a-file"
        a_file.write_text("not a folder")
        cases = {"a file": a_file, "under a file": a_file / "out",
                 "inside a submission": sub / "out", "a submission inside it": tmp}
        if os.geteuid() == 0:
            cases["under /sys (read-only)"] = Path(f"/sys/kata-out-{os.getpid()}")
        else:
            locked = tmp / "locked"
            locked.mkdir(mode=0o555)
            cases["under a read-only folder"] = locked / "out"
        for label, out in cases.items():
            t0 = time.monotonic()
            done = run([PY, "-m", "grading", "grade", str(sub), "--out", str(out)])
            said = done.stderr.strip()
            problems.expect(done.returncode == 2 and said.startswith("error: ") and "Traceback" not in said
                            and "out" in said, f"--out {label}: exit {done.returncode}, said:\n{said[-1500:]}")
            problems.expect(not (sub / "results.json").exists() and not list(tmp.rglob("results.json")),
                            f"--out {label}: grading started anyway")
            print(f"   --out {label}: exit {done.returncode} in {time.monotonic() - t0:.1f} s: {said[:150]}")


@step("batch: the grade table fits a 60-column terminal and is plain text when piped")
def batch_table(problems):
    import pty
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Nothing to grade (no sandbox to start: seconds), a long name and status words.
        paths = [_write(tmp / ("a-student-with-a-really-long-folder-name-" + "x" * 30), {}),
                 _write(tmp / "empty", {})]
        done = run([PY, "-m", "grading", "grade", *map(str, paths), "--out", str(tmp / "out1")])
        box = [line for line in done.stdout.splitlines() if any(c in line for c in "┃│━─┏┡└╇")]
        problems.expect(not box and "no submission" in done.stdout,
                        "piped, the table is not plain lines with status words:\n" + done.stdout[-1500:])
        # The same on a terminal of 60 columns (a pseudo-terminal).
        env = dict(os.environ, COLUMNS="60", LINES="40", TERM="xterm")
        cmd = [PY, "-m", "grading", "grade", *map(str, paths), "--out", str(tmp / "out2")]
        captured = []

        def read(fd):
            data = os.read(fd, 4096)
            captured.append(data)
            return data
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(ROOT)
            os.execve(PY, cmd, env)
        try:
            while True:
                read(fd)
        except OSError:
            pass
        os.waitpid(pid, 0)
        text = b"".join(captured).decode("utf-8", "replace")
        lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", l) for l in re.split(r"[\r\n]+", text)]
        # What rich draws (the table, the progress bar) must fit; plain messages wrap.
        drawn = [l for l in lines if any(c in l for c in "┃│━─")]
        wide = [l for l in drawn if len(l) > 60]
        problems.expect(not wide and any("no submission" in l for l in lines),
                        "on a 60-column terminal, lines are wider:\n" + "\n".join(wide[:5]))
        print(f"   piped: {len(done.stdout.splitlines())} plain lines; terminal: widest table or bar "
              f"line {max(map(len, drawn), default=0)} of 60 columns")
