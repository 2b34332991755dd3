"""collect, then autograde: N `nbgrader autograde` workers at once, one gradebook.

Each worker is nbgrader's own command on its share of the students
(--CourseDirectory.student_id_exclude names everyone else); they share the gradebook,
whose SQLite transactions are short (a busy timeout lets one wait for the other). What a
worker runs per student is nbgrader_config.py's pipeline: the trusted grade outside, the
notebook in its box (kernel.py), the trusted scores into the gradebook (trusted.py). Before
the workers start, one grader run grades every notebook (trusted.pregrade): the workers
reuse those verdicts where the code is the same, and so pay the grader's start-up once.
The gradebook ends as a sequential run leaves it (`gradebook_digest` compares them).
"""
import os
import re
import threading
import time
from pathlib import Path

from grading.course import jail, trusted
from grading.course.progress import Progress
from grading.course.runner import ASSIGNMENT, COURSE_DIR, LoopError, run_tool, shown, tool_env
from grading.judge import CLASSES

BUSY_SECONDS = 120          # how long a worker waits for the other's gradebook transaction


def default_jobs():
    return max(1, os.cpu_count() or 1)


def collect(course):
    """nbgrader collect (newer submissions replace older ones); the collected student ids."""
    args = ["collect", ASSIGNMENT, "--update"]
    if not course.check_owner:
        args.append("--ExchangeCollect.check_owner=False")
    inbound = course.exchange_root / "backprop-kata" / "inbound"
    if not inbound.is_dir() or not any(inbound.iterdir()):
        students = course.submitted()
        course.say(f"  nothing in {inbound} to collect"
                   + (f"; {len(students)} collected before" if students else ""))
        return students
    course.nbgrader(*args, what=f"from {inbound}")
    students = course.submitted()
    course.say(f"  {len(students)} submissions collected in {Path(course.root) / 'submitted'}")
    return students


def shares(students, jobs):
    """Round-robin shares of the sorted students, one per worker (none empty)."""
    jobs = max(1, min(jobs, len(students)))
    return [students[i::jobs] for i in range(jobs)]


def check_box(say):
    """Refuse (LoopError) when the kernels cannot be sandboxed and nobody opted out."""
    problem = jail.problem()
    if problem is None:
        return
    if jail.opted_out():
        say(f"WARNING: {problem}. KATA_KERNEL_SANDBOX=off: students' notebooks run UNSANDBOXED, "
            "as you, with your files in reach.", style="bold red")
        return
    raise LoopError(jail.REFUSAL.format(why=problem))


def autograde(course, force=False, do_collect=True, jobs=None, students=None):
    """(collect and) autograde; {student: seconds}. `students`: only these (default: all
    collected ones not autograded yet, or all with force)."""
    say = course.say
    jobs = jobs or default_jobs()
    say(f"autograde: course {course.root}")
    collected = collect(course) if do_collect else course.submitted()
    if not collected:
        say("  nothing submitted yet: no submission in the exchange's inbound nor in "
            f"{Path(course.root) / 'submitted'}. Students hand in with `make submit` "
            "(or nbgrader submit); then run make autograde again.")
        return {}
    chosen = [s for s in collected if students is None or s in students]
    todo = [s for s in chosen if force or not course.autograded(s)]
    if not todo:
        say(f"  all {len(chosen)} submissions were autograded before; nothing new "
            "(make autograde FORCE=1 grades them all again)")
        show_scores(course, {})
        return {}
    check_box(say)
    started = time.monotonic()
    pregraded = trusted.pregrade(course.root, ASSIGNMENT,
                                 {s: course.submitted_notebook(s) for s in todo}, jobs)
    say(f"  trusted grader: {pregraded} of {len(todo)} notebooks graded in one run "
        f"({time.monotonic() - started:.1f} s); the workers check each against what they run")
    progress = Progress(say, len(todo))
    failures = run_workers(course, todo, collected, force, jobs, progress)
    progress.stop()
    rescued = rescue(course, todo)
    if rescued:
        say(f"  nbgrader could not finish {', '.join(rescued)} (see its log above); the trusted "
            "grader's scores are in the gradebook all the same", style="bold red")
    seconds = progress.seconds
    if progress.skipped:
        say(f"  {len(progress.skipped)} autograded before, left as they are "
            "(make autograde FORCE=1 grades them again)")
    wall = time.monotonic() - started
    say(f"  {len(todo)} autograded in {wall:.1f} s with {min(jobs, len(todo))} worker(s): "
        f"{wall / len(todo):.2f} s per student")
    show_scores(course, seconds)
    if failures:
        raise LoopError("\n".join(failures))
    return seconds


def run_workers(course, todo, everyone, force, jobs, progress):
    """One nbgrader autograde per share, all at once; the failures' messages."""
    db_url = f"{course.db_url}?timeout={BUSY_SECONDS}"
    failures = []

    def work(number, share):
        others = sorted(set(everyone) - set(share))
        args = ["autograde", ASSIGNMENT, *(["--force"] if force else [])]
        if others:
            args.append("--CourseDirectory.student_id_exclude=" + ",".join(others))
        log = progress.reader(number)
        try:
            code, lines = run_tool(course.command(*args, db_url=db_url), COURSE_DIR,
                                   tool_env(), log)
        finally:
            log.end()
        course.log.extend(lines)
        if code != 0:
            failures.append(f"nbgrader autograde (worker {number}: {', '.join(share)}) failed "
                            f"(exit {code}):\n" + why(lines))

    threads = [threading.Thread(target=work, args=(n, share))
               for n, share in enumerate(shares(todo, jobs), 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def rescue(course, students):
    """Students whose notebook nbgrader could not finish (a kernel that died, say) but whom
    the trusted grader graded: their trusted scores go into the gradebook anyway."""
    from nbgrader.api import Gradebook, MissingEntry
    rescued = []
    for student in students:
        results, claims = trusted.read_record(course.root, student, ASSIGNMENT)
        if results is None or claims is not None:
            continue
        scores = {c: v["score"] for c, v in trusted.student_verdicts(results).items()}
        try:
            with Gradebook(course.db_url) as gb:
                gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        except MissingEntry:
            continue
        trusted.write_scores(course.db_url, ASSIGNMENT, ASSIGNMENT, student, scores)
        rescued.append(student)
    return rescued


def why(lines):
    """The causes in a failed worker's log: which students, and each distinct exception."""
    failed = [m.group(1) for m in (re.search(r"error processing assignment '\S+' for student '([^']+)'", l)
                                   for l in lines) if m]
    causes = []
    for line in lines:
        found = re.match(r"\s*([\w.]+(?:Error|Exception|Refused)): (.+)", line)
        if found and found.group(0).strip() not in causes:
            causes.append(found.group(0).strip())
    text = (f"students not finished: {', '.join(failed)}\n" if failed else "")
    return text + ("\n".join(causes[-8:]) if causes else shown(lines, 2000))


def gradebook_scores(course):
    """{student: {class: points}} of the autograded submissions in the gradebook (the
    trusted scores: trusted.SaveTrustedGrades wrote them)."""
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    if not course.db_path.exists():
        return scores
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


def kernel_claims(course, student):
    """{class: points the kernel's cells claimed} (None: no record)."""
    _, claims = trusted.read_record(course.root, student, ASSIGNMENT)
    if not claims:
        return None
    return {c: claims[c]["kernel"] for c in CLASSES if c in claims}


def show_scores(course, seconds):
    scores = gradebook_scores(course)
    rows = []
    for s in sorted(scores):
        claims = kernel_claims(course, s) or {}
        forged = [c for c in CLASSES if claims.get(c) is not None
                  and abs(claims[c] - scores[s][c]) > 1e-6]
        rows.append([s, *(f"{scores[s][c]:g}" for c in CLASSES), f"{sum(scores[s].values()):g}",
                     f"MISMATCH: kernel claimed {sum(v or 0 for v in claims.values()):g}"
                     if forged else "", f"{seconds[s]:.1f}" if s in seconds else "-"])
    course.say.table(f"trusted scores in the gradebook ({len(scores)} students)",
                     ["student", *CLASSES, "total", "kernel", "seconds"], rows)


def gradebook_digest(db_url, students=None):
    """What a sequential and a parallel run must leave alike: per student, the submission's
    timestamp and lateness, every grade (auto, manual, extra credit, needs review) and every
    comment; random ids and nbgrader's own bookkeeping times left out."""
    from nbgrader.api import Gradebook, MissingEntry
    digest = {}
    with Gradebook(db_url) as gb:
        for student in gb.students:
            if students is not None and student.id not in students:
                continue
            try:
                sub = gb.find_submission(ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            entry = {"timestamp": str(sub.timestamp), "late": sub.total_seconds_late,
                     "penalty": sub.late_submission_penalty, "notebooks": {}}
            for nb in sub.notebooks:
                entry["notebooks"][nb.name] = {
                    "grades": sorted((g.name, g.auto_score, g.manual_score, g.extra_credit,
                                      g.needs_manual_grade) for g in nb.grades),
                    "comments": sorted((c.name, c.auto_comment, c.manual_comment)
                                       for c in nb.comments),
                    "flagged": nb.flagged}
            digest[student.id] = entry
    return digest
