"""Hostile samples: submissions that attack the judge, written from grading/samples/hostile.toml.

Each sample is the reference (or the stubs) with a hostile twist: code put at the top of a
file and find/replace edits, the same kind of edit as the catalogue's (see hostile.toml's
header). `write_all(folder)` writes every sample as a submission folder and says what each
may earn; the grader selftest and grading/selftests/test_sandbox.py use it.
"""
try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib
from pathlib import Path

from grading import catalogue

HOSTILE = Path(__file__).parent / "hostile.toml"
TRUST = Path(__file__).parent / "trust.toml"     # the batch-level proof's samples
KEYS = {"tries", "base", "prepend_layers", "prepend_optimizer", "scores", "words", "edit"}


def hostile_samples(path=HOSTILE):
    """{name: spec}, spec being the sample's table in `path` (hostile.toml, trust.toml)
    with the optional keys filled in (scores {}, words [], edit [])."""
    with open(path, "rb") as f:
        table = tomllib.load(f)
    for name, spec in table.items():
        unknown = set(spec) - KEYS
        if unknown:
            raise ValueError(f"{path.name}: [{name}] has unknown keys {sorted(unknown)}")
        if spec.get("base") not in ("reference", "stubs"):
            raise ValueError(f"{path.name}: [{name}] base must be \"reference\" or \"stubs\"")
        if "\n" in spec["tries"]:
            raise ValueError(f"{path.name}: [{name}] tries must be one line")
        spec.setdefault("scores", {})
        spec.setdefault("words", [])
        spec.setdefault("edit", [])
    return table


def hostile_sources(name, spec, bases=None):
    """The sample's files: {"layers.py": text, "optimizer.py": text}. `bases` may hold
    {"reference": sources, "stubs": sources} already read."""
    if bases is None:
        bases = {"reference": catalogue.reference_sources(), "stubs": catalogue.stub_sources()}
    unknown = {e["file"] for e in spec["edit"]} - set(catalogue.FILES)
    if unknown:
        raise catalogue.EditError(f"{name}: edits of unknown files {sorted(unknown)}")
    sources = {}
    for file in catalogue.FILES:
        edits = [(e["find"], e["replace"]) for e in spec["edit"] if e["file"] == file]
        text = catalogue.apply_edits(bases[spec["base"]][file], edits, name, file)
        prepend = spec.get("prepend_" + file.removesuffix(".py"), "").strip("\n")
        if prepend:
            text = prepend + "\n\n\n" + text
        sources[file] = f"# tries: {spec['tries']}\n" + text
    return sources


def write_hostile(name, folder, spec=None, bases=None, path=HOSTILE):
    """Write the sample `name` (of the samples file `path`) as the submission folder
    <folder>/<name>/ (layers.py, optimizer.py) and return that folder."""
    spec = spec or hostile_samples(path)[name]
    target = Path(folder) / name
    target.mkdir(parents=True, exist_ok=True)
    for file, text in hostile_sources(name, spec, bases).items():
        (target / file).write_text(text, encoding="utf-8")
    return target


def write_all(folder, path=HOSTILE):
    """Write every sample of `path` below `folder`: {submission folder: (scores, words)}."""
    bases = {"reference": catalogue.reference_sources(), "stubs": catalogue.stub_sources()}
    return {write_hostile(name, folder, spec, bases): (spec["scores"], spec["words"])
            for name, spec in hostile_samples(path).items()}
