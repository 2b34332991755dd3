"""What `python -m grading grade` writes into --out: one folder per submission and grades.csv.

Names: every submission gets a folder name that is unique among the final names (case
folded), stays inside --out (no `..`, no leading dot, no separators) and never takes a
name the grader writes itself (grades.csv and its temporary names).

Visibility (Gradescope's results.json): every test's output starts with its verdict and
points ("PASS 3/3", "FAIL 0/3: ..."). What only the instructor should see (the source
path, the data seed, the isolation mode) goes into a test with visibility "hidden" and
into the `kata` field, never into the text students read.
"""
import csv
import json
import os
import re
import unicodedata

from grading.judge import CLASSES
from grading.notebooks import shown

GRADES = "grades.csv"
RESERVED = {GRADES, GRADES + ".tmp"}          # the grader's own files in --out
MAX_NAME = 80
NOT_GRADED = "not graded: interrupted"
SEED_LINE = re.compile(r"\n*\(data seed [^\n]*\)\s*$")


# --- names ---------------------------------------------------------------------------------

def _clean(name):
    name = unicodedata.normalize("NFC", shown(name))
    name = re.sub(r"[^\w.@+-]", "_", name).lstrip(".")[:MAX_NAME]
    return name or "submission"


def output_names(bases):
    """A folder name per submission name, in order: unique, safe, not reserved."""
    taken = {r.casefold() for r in RESERVED}
    names = []
    for base in bases:
        base = _clean(base)
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name.casefold())
        names.append(name)
    return names


# --- writing -------------------------------------------------------------------------------

def write_json(path, data):
    """Whole or not at all (temporary name, then rename); any text becomes valid UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    tmp.write_bytes(text.encode("utf-8", "replace"))
    tmp.replace(path)


def placeholder(name, source):
    """The results.json a submission has until it is graded: if the run stops (Ctrl-C,
    a kill, a crash), what is left says so instead of looking like an older verdict."""
    why = "not graded: the grading run ended before this submission was graded"
    return {"score": 0.0, "output": f"{why} / 채점이 끝나기 전에 중단되었습니다",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
            "kata": {"submission": name, "status": NOT_GRADED, "source": shown(source),
                     "error": why, "classes": {}, "notes": []}}


def status_of(results):
    return results.get("kata", {}).get("status") or "graded"


def write_grades_csv(results, path):
    """grades.csv, written under a temporary name and renamed: never half a table."""
    tmp = path.with_name(GRADES + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8", errors="replace") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *CLASSES, "total", "max", "status", "reason", "source"])
        for name in sorted(results):
            r = results[name]
            kata = r.get("kata", {})
            classes = kata.get("classes", {})
            row = [classes.get(c, {}).get("score", "") for c in CLASSES]
            maximum = sum(v["max_score"] for v in classes.values())
            status = status_of(r)
            reason = "" if status == "graded" else (kata.get("error") or "; ".join(kata.get("notes", [])))
            writer.writerow([name, *row, r["score"], maximum, status, reason, kata.get("source", "")])
    os.replace(tmp, path)


# --- what students see, what instructors see ---------------------------------------------

def _verdict_text(test):
    body = SEED_LINE.sub("", test.get("output") or "").strip()
    head = (f"{'PASS' if test['status'] == 'passed' else 'FAIL'} "
            f"{test['score']:g}/{test['max_score']:g}")
    return head + (":\n" + body if body else "")


def for_gradescope(results, sub):
    """Verdicts and points on every test; instructor-only facts hidden (see the docstring)."""
    kata = results.setdefault("kata", {})
    kata["status"] = kata.get("status") or (sub.status if not kata.get("error") else "grader error")
    kata["source"] = shown(sub.path)
    for test in results.get("tests", []):
        test["output"] = _verdict_text(test)
    lines = [line for line in results.get("output", "").splitlines()
             if not line.startswith("(data seed ")]
    if kata["status"] == "grader error":   # its text may hold the grader's paths: theirs only
        lines = ["The grader could not grade this submission; your instructor can see why.",
                 "채점기가 이 제출물을 채점하지 못했습니다. 강사가 원인을 볼 수 있습니다."]
    if kata["status"] != "graded" and not results.get("output", "").startswith("Not graded"):
        lines.insert(0, f"Status / 상태: {kata['status']}")
    results["output"] = "\n".join(lines)
    instructor = [f"source: {kata['source']}", f"status: {kata['status']}"]
    if "seed" in kata:
        instructor.append(f"data seed: {kata['seed']} (python -m grading grade ... --seed {kata['seed']} "
                          "repeats the same inputs)")
    if kata.get("isolation"):
        instructor.append(f"isolation: {kata['isolation']}")
    if kata.get("error"):
        instructor.append(f"error: {kata['error']}")
    results.setdefault("tests", []).append({
        "name": "Instructor notes (hidden from students)", "score": 0.0, "max_score": 0.0,
        "status": "passed", "visibility": "hidden", "output": "\n".join(instructor)})
    return results


def not_graded(sub, class_max):
    """Results for a path that holds nothing gradable: 0 per class, the reason on each."""
    reason = "; ".join(sub.notes) or sub.status
    tests = [{"name": f"{cls}: not graded", "score": 0.0, "max_score": class_max[cls],
              "status": "failed", "visibility": "visible", "number": f"{i}.1",
              "output": f"not graded: {reason}\n채점하지 못했습니다: {sub.status}"}
             for i, cls in enumerate(CLASSES, 1)]
    return {"score": 0.0, "execution_time": 0.0, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests,
            "output": f"Not graded: {reason}\n채점하지 못했습니다 ({sub.status}).",
            "kata": {"submission": sub.name, "status": sub.status, "notes": sub.notes,
                     "classes": {c: {"score": 0.0, "max_score": class_max[c]} for c in CLASSES},
                     "failing": []}}
