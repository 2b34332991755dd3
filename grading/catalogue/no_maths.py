"""Whole-submission samples (no_maths.toml) and the checks between catalogue entries.

rubric.toml's rule, points only for working maths, caps code that computes none of the
maths at NO_MATHS_SHARE of the total; each sample lists the exact points it earns.
`at_most` in mistakes.toml: an entry with a second mistake may not score above the first.
"""
try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib
from dataclasses import dataclass
from pathlib import Path

from grading.judge import CLASSES

HERE = Path(__file__).parent
FULL_CLASS = 25.0


@dataclass
class Sample:
    """A whole submission with the exact points it earns (no_maths.toml)."""
    id: str
    description: str
    sources: dict             # {"layers.py": text, "optimizer.py": text}
    scores: dict              # {class: points}


NO_MATHS_SHARE = 0.05         # rubric.toml: code without the maths earns at most 5 %


def load_samples():
    """The whole-submission samples of no_maths.toml: a list of `Sample`."""
    with open(HERE / "no_maths.toml", "rb") as f:
        data = tomllib.load(f)
    return [Sample(raw["id"], raw["description"],
                   {"layers.py": raw["layers"], "optimizer.py": raw["optimizer"]},
                   {cls: float(v) for cls, v in raw["scores"].items()})
            for raw in data["sample"]]


def sample_problems(sample, scores):
    """What is wrong with a sample's verdict: scores other than its listed ones."""
    where = f"sample {sample.id}"
    problems = [f"{where}: {cls} scored {scores.get(cls)}, expected {want:g}"
                for cls, want in sample.scores.items() if scores.get(cls) != want]
    total = FULL_CLASS * len(CLASSES)
    if sum(sample.scores.values()) > NO_MATHS_SHARE * total:
        problems.append(f"{where}: lists {sum(sample.scores.values()):g} points, above the "
                        f"{NO_MATHS_SHARE:.0%} that code without the maths may earn")
    return problems


def ordering_problems(entries, totals):
    """`at_most`: an entry with a second mistake may not score above the first one alone.
    totals: {entry id: points earned in all}."""
    problems = []
    for e in entries:
        if e.at_most and e.id in totals and e.at_most in totals:
            if totals[e.id] > totals[e.at_most]:
                problems.append(f"{e.id}: {totals[e.id]:g} points, more than {e.at_most} "
                                f"({totals[e.at_most]:g}) with one mistake fewer")
    return problems
