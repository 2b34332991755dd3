"""The catalogue: known wrong and known right implementations, and the check that the
hidden suites tell them apart.

Each entry is a small edit of the reference in solutions/ (markers removed):
mistakes.toml lists realistic mistakes with the tests each must fail; alternatives.toml
lists correct code written differently, which must score full marks.

`check_catalogue(grade)` runs the whole check through any grader:
`grade(sources, name, seed) -> Verdict` with sources keyed by file name
({"layers.py": text, "optimizer.py": text}, what a submission folder holds). The default,
`local_grade`, runs the hidden suites in this process with `LocalSubject`; the CLI can pass
its sandboxed grader instead. `python -m grading.catalogue` runs the local check.
"""
import inspect
try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grading.judge import engine
from grading.catalogue.no_maths import (NO_MATHS_SHARE, Sample, load_samples,  # noqa: F401
                                       ordering_problems, sample_problems)

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
FILES = ("layers.py", "optimizer.py")
FULL_CLASS = 25.0
REFERENCE_SEEDS = 200


@dataclass
class Entry:
    kind: str                 # "mistake" or "alternative"
    id: str
    cls: str
    file: str
    description: str
    edits: list               # [(find, replace), ...] applied in order to `file`
    fails: list = field(default_factory=list)
    at_most: str = ""         # a mistake's id: this entry may not score above that one


@dataclass
class Row:
    """One graded variant, for the table."""
    kind: str
    id: str
    cls: str
    lost: float               # points lost in total (all classes)
    failing: list             # "Class.test" of every failed test
    ok: bool = True


def _entries(path, kind):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    entries = []
    for raw in data.get(kind, []):
        edits = [(raw["find"], raw["replace"])]
        edits += [(more["find"], more["replace"]) for more in raw.get("more", [])]
        entries.append(Entry(kind, raw["id"], raw["cls"], raw["file"], raw["description"],
                             edits, list(raw.get("fails", [])), raw.get("at_most", "")))
    return entries


def load_catalogue():
    """(mistakes, alternatives): two lists of `Entry`."""
    return (_entries(HERE / "mistakes.toml", "mistake"),
            _entries(HERE / "alternatives.toml", "alternative"))


def strip_markers(text):
    from grading.tools.gen_stubs import strip_markers as strip
    return strip(text)


def reference_sources():
    """The reference, markers removed: {"layers.py": text, "optimizer.py": text}."""
    return {name: strip_markers((SOLUTIONS / name).read_text(encoding="utf-8")) for name in FILES}


def stub_sources():
    """The untouched exercise stubs, as a student first gets them."""
    return {name: (EXERCISES / name).read_text(encoding="utf-8") for name in FILES}


class EditError(ValueError):
    """A catalogue edit whose `find` does not occur exactly once."""


def apply_edits(text, edits, where, file):
    """`text` with each (find, replace) of `edits` applied in order; each `find` must occur
    exactly once in the text as the edits before it left it (EditError names `where`, `file`)."""
    for find, replace in edits:
        count = text.count(find)
        if count != 1:
            raise EditError(f"{where}: `find` occurs {count} times in {file} "
                            f"(must be once): {find.strip()[:60]!r}")
        text = text.replace(find, replace)
    return text


def variant_sources(entry, reference=None):
    """The reference with `entry`'s edits applied: {"layers.py": text, "optimizer.py": text}."""
    sources = dict(reference or reference_sources())
    text = apply_edits(sources[entry.file], entry.edits, entry.id, entry.file)
    if text == sources[entry.file]:
        raise EditError(f"{entry.id}: the edit changes nothing")
    sources[entry.file] = text
    return sources


def as_modules(sources):
    """{"layers.py": text} -> {"layers": text}: the runner loads sources by module name."""
    return {name.removesuffix(".py"): text for name, text in sources.items()}


def local_grade(sources, name, seed):
    """Grade in this process (trusted code only): the hidden suites with LocalSubject."""
    from grading.judge.subject import LocalSubject
    modules = as_modules(sources)
    return engine.run_suites(lambda cls: LocalSubject(modules), seed)


def failing_tests(verdict):
    return sorted(f"{r.cls}.{r.test_id}" for r in verdict.results if not r.passed)


def suite_tests():
    """{class: [test function names]} as defined in the suites' modules."""
    import importlib.util
    tests = {}
    for cls, module in engine.MODULE_OF.items():
        spec = importlib.util.spec_from_file_location(f"_catalogue_{cls}", engine.SUITES / module)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        tests[cls] = [name for name, obj in inspect.getmembers(loaded, inspect.isfunction)
                      if name.startswith("test_") and obj.__module__ == loaded.__name__]
    return tests


def check_rubric(rubric=None, tests=None):
    """Problems with rubric.toml: totals other than 25, tests without entries or the reverse."""
    rubric = rubric or engine.load_rubric()
    tests = tests or suite_tests()
    problems = []
    for cls in engine.CLASSES:
        entries = rubric.get(cls, {})
        total = sum(float(e["points"]) for e in entries.values())
        if total != FULL_CLASS:
            problems.append(f"rubric: {cls} totals {total:g} points, not {FULL_CLASS:g}")
        for name in sorted(set(tests[cls]) - set(entries)):
            problems.append(f"rubric: {cls}.{name} has no entry")
        for name in sorted(set(entries) - set(tests[cls])):
            problems.append(f"rubric: {cls}.{name} names no test")
        for name, e in entries.items():
            if not str(e.get("name", "")).startswith(cls):
                problems.append(f"rubric: {cls}.{name}'s name does not start with {cls}")
            if float(e["points"]) <= 0:
                problems.append(f"rubric: {cls}.{name} has no points")
            for need in e.get("needs", []):
                if need not in tests[cls] or need == name:
                    problems.append(f"rubric: {cls}.{name} needs {need}, not another test "
                                    f"of {cls}")
    return problems


def check_entries(mistakes, alternatives, tests):
    problems = []
    seen = set()
    for e in mistakes + alternatives:
        if e.id in seen:
            problems.append(f"{e.id}: duplicate id")
        seen.add(e.id)
        if e.cls not in engine.CLASSES:
            problems.append(f"{e.id}: unknown class {e.cls}")
            continue
        if e.file not in FILES:
            problems.append(f"{e.id}: unknown file {e.file}")
        for name in e.fails:
            if name not in tests[e.cls]:
                problems.append(f"{e.id}: fails lists {name}, not a test of {e.cls}")
        if e.kind == "mistake" and not e.fails:
            problems.append(f"{e.id}: a mistake must list the tests it fails")
        if e.at_most and e.at_most not in {m.id for m in mistakes}:
            problems.append(f"{e.id}: at_most names no mistake ({e.at_most})")
    return problems


def check_catalogue(grade=local_grade, reference_seeds=REFERENCE_SEEDS, variant_seeds=(1, 2),
                    progress=None):
    """Grade the reference, the stubs and every catalogue entry; (rows, problems).

    grade(sources, name, seed) -> Verdict, sources keyed by file name. A mistake must fail
    exactly the tests its `fails` lists (all of them in its own class) for every seed in
    `variant_seeds`, leaving the other classes at full marks; an alternative and the
    reference (for `reference_seeds` seeds) must score 100; the stubs must score 0.
    """
    say = progress or (lambda text: None)
    tests = suite_tests()
    problems = check_rubric(tests=tests)
    mistakes, alternatives = load_catalogue()
    problems += check_entries(mistakes, alternatives, tests)
    if len(mistakes) < 30:
        problems.append(f"only {len(mistakes)} mistakes (at least 30 wanted)")
    if len(alternatives) < 12:
        problems.append(f"only {len(alternatives)} alternatives (at least 12 wanted)")
    total = FULL_CLASS * len(engine.CLASSES)
    rows = []

    reference = reference_sources()
    say(f"reference, {reference_seeds} seeds")
    bad_seeds = []
    for seed in range(reference_seeds):
        verdict = grade(reference, "reference", seed)
        score = sum(verdict.class_scores().values())
        if score != total:
            bad_seeds.append(seed)
            if len(bad_seeds) <= 3:
                problems.append(f"reference: {score:g}/{total:g} with seed {seed}, failing "
                                f"{failing_tests(verdict)}: "
                                + " | ".join(r.output for r in verdict.results if not r.passed))
    if bad_seeds:
        problems.append(f"reference: below full marks for {len(bad_seeds)} of "
                        f"{reference_seeds} seeds")
    rows.append(Row("reference", f"reference x{reference_seeds}", "-",
                    0.0 if not bad_seeds else float("nan"), [], not bad_seeds))

    say("untouched stubs")
    verdict = grade(stub_sources(), "stubs", 0)
    score = sum(verdict.class_scores().values())
    if score != 0:
        problems.append(f"stubs: {score:g} points, expected 0 (passing: "
                        + ", ".join(f"{r.cls}.{r.test_id}" for r in verdict.results if r.passed)
                        + ")")
    rows.append(Row("stubs", "exercises/ untouched", "-", total - score,
                    failing_tests(verdict), score == 0))

    for sample in load_samples():
        say(f"sample {sample.id}")
        verdict = grade(sample.sources, sample.id, 0)
        scores = verdict.class_scores()
        found = sample_problems(sample, scores)
        problems += found
        rows.append(Row("sample", sample.id, "-", total - sum(scores.values()),
                        failing_tests(verdict), not found))

    totals = {}
    for entry in mistakes + alternatives:
        say(f"{entry.kind} {entry.id}")
        try:
            sources = variant_sources(entry, reference)
        except EditError as exc:
            problems.append(str(exc))
            rows.append(Row(entry.kind, entry.id, entry.cls, float("nan"), [], False))
            continue
        row = None
        for seed in variant_seeds:
            verdict = grade(sources, entry.id, seed)
            scores = verdict.class_scores()
            failing = failing_tests(verdict)
            found = _entry_problems(entry, scores, failing, seed)
            problems += found
            if row is None or found:
                row = Row(entry.kind, entry.id, entry.cls,
                          total - sum(scores.values()), failing, not found)
                totals[entry.id] = sum(scores.values())
            if found:
                break
        rows.append(row)
    problems += ordering_problems(mistakes, totals)
    return rows, problems


def _entry_problems(entry, scores, failing, seed):
    where = f"{entry.id} (seed {seed})"
    if entry.kind == "alternative":
        if failing:
            return [f"{where}: a correct alternative fails {failing}"]
        return []
    problems = []
    for cls, score in scores.items():
        if cls != entry.cls and score != FULL_CLASS:
            problems.append(f"{where}: costs {cls} points ({score:g}/{FULL_CLASS:g}); a "
                            f"mistake in {entry.cls} must cost {entry.cls} only")
    if scores[entry.cls] >= FULL_CLASS:
        problems.append(f"{where}: not caught, {entry.cls} keeps full marks")
    wanted = {f"{entry.cls}.{name}" for name in entry.fails}
    got = {name for name in failing if name.startswith(entry.cls + ".")}
    if wanted - got:
        problems.append(f"{where}: should fail but passes: {sorted(wanted - got)}")
    if got - wanted:
        problems.append(f"{where}: fails tests not in its list: {sorted(got - wanted)}")
    return problems


def format_table(rows):
    lines = [f"{'kind':<11} {'id':<32} {'class':<8} {'lost':>5}  failing tests",
             "-" * 100]
    for r in rows:
        failing = ", ".join(name.split(".", 1)[1].removeprefix("test_") for name in r.failing)
        if r.kind in ("stubs", "sample"):
            failing = f"{len(r.failing)} tests"
        mark = "" if r.ok else "  <-- PROBLEM"
        lines.append(f"{r.kind:<11} {r.id:<32} {r.cls:<8} {r.lost:>5g}  {failing}{mark}")
    return "\n".join(lines)
