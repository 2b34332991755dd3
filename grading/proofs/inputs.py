"""Inputs of every odd kind (issue 7, finding 4) for the grader's batch, and the proof that
reading them is bounded in memory."""
import base64
import json
import os
import struct
import tempfile
import zlib
from pathlib import Path

from grading.proofs import PY, _notebook, _write, _zip, run, step

# What `zip -e -P kata` made of exercises/layers.py and exercises/optimizer.py (ZipCrypto).
ENCRYPTED_ZIP = base64.b64decode(
    "UEsDBBQACQAIAD0rgV0xWGcwIgAAABcAAAATABwAZXhlcmNpc2VzL2xheWVycy5weVVUCQADZVoOa2VaDmt1eAsAAQQAAAAABAAA"
    "AAB9BrEZsjE3ekAMzVZuY772T8uuXrs5EnehrpI12wwyNJ5nUEsHCDFYZzAiAAAAFwAAAFBLAwQUAAkACAA9K4FdjbFZSx8AAAAU"
    "AAAAFgAcAGV4ZXJjaXNlcy9vcHRpbWl6ZXIucHlVVAkAA2VaDmtlWg5rdXgLAAEEAAAAAAQAAAAA58AXn9dLX7xwVUQnGe9kM8ag"
    "Oelbf0YBOTEPEWwHzFBLBwiNsVlLHwAAABQAAABQSwECHgMUAAkACAA9K4FdMVhnMCIAAAAXAAAAEwAYAAAAAAABAAAApIEAAAAA"
    "ZXhlcmNpc2VzL2xheWVycy5weVVUBQADZVoOa3V4CwABBAAAAAAEAAAAAFBLAQIeAxQACQAIAD0rgV2NsVlLHwAAABQAAAAWABgA"
    "AAAAAAEAAACkgX8AAABleGVyY2lzZXMvb3B0aW1pemVyLnB5VVQFAANlWg5rdXgLAAEEAAAAAAQAAAAAUEsFBgAAAAACAAIAtQAA"
    "AP4AAAAAAA==")
ZIP_BOMB_ENTRIES = 1000       # notebooks of 1 MiB each, 1 KiB each once compressed


def _raw_notebook(folder, name, notebook):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(notebook if isinstance(notebook, str) else json.dumps(notebook))
    return folder / name


def many_notebooks_zip(path, count=ZIP_BOMB_ENTRIES, size=1 << 20):
    """A small zip of `count` notebook entries of `size` bytes each (compressed once)."""
    data = b"{" + b" " * (size - 2) + b"}"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    blob, crc = packer.compress(data) + packer.flush(), zlib.crc32(data)
    local, central = bytearray(), bytearray()
    for i in range(count):
        name = f"exercises/nb{i:05d}.ipynb".encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(blob),
                               len(data), len(name), 0, 0, 0, 0, 0, len(local)) + name
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(blob), len(data),
                             len(name), 0) + name + blob
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(local), 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(local + central + end))
    return path


def huge_layers(folder, optimizer):
    """A folder whose layers.py is 1 GiB (sparse: no disk used) and a good optimizer.py."""
    _write(folder, {"optimizer.py": optimizer})
    with open(folder / "layers.py", "wb") as f:
        f.truncate(1 << 30)
    return folder


def odd_inputs(tmp, reference):
    """Whatever a path can hold (issue 7, finding 4): each must become a result with its
    own status, in the same batch as the honest submissions."""
    layers, optimizer = reference["layers.py"], reference["optimizer.py"]
    full, zero, invalid = {"*": 25}, {"*": 0}, "not a valid Jupyter notebook"
    code = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    nb = lambda **kw: dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}, **kw)
    cases = {
        _raw_notebook(tmp, "cells-not-a-list.ipynb", nb(cells={"0": dict(code, source=layers)})):
            (zero, [invalid, "cells are not a list"], "invalid notebook"),
        _raw_notebook(tmp, "metadata-a-list.ipynb", nb(metadata=["kernel"], cells=[dict(code, source=layers)])):
            (zero, [invalid, "metadata is not an object"], "invalid notebook"),
        _raw_notebook(tmp, "cell-metadata-odd.ipynb", nb(cells=[dict(code, source=layers, metadata={"nbgrader": [1]})])):
            (zero, [invalid, "metadata is not an object"], "invalid notebook"),
        _raw_notebook(tmp, "source-numbers.ipynb", nb(cells=[dict(code, source=[1, 2, 3])])):
            (zero, [invalid, "source is not text"], "invalid notebook"),
        _raw_notebook(tmp, "deep.ipynb", '{"nbformat": 4, "cells": [], "metadata": {"x": '
                      + "[" * 100000 + "]" * 100000 + "}}"):
            (zero, [invalid, "nested too deeply"], "invalid notebook"),
        _raw_notebook(tmp, "notebook-list.ipynb", "[1, 2, 3]"): (zero, [invalid], "invalid notebook"),
        _raw_notebook(tmp, "no-code.ipynb", nb()): (zero, ["has no code cells"], "empty notebook"),
        _raw_notebook(tmp, "undecodable-\udcff-name.ipynb", _notebook([layers, optimizer])): (full, []),
        _raw_notebook(tmp / "undecodable-inside", "caf\udce9.ipynb", _notebook([layers, optimizer])).parent: (full, []),
        many_notebooks_zip(tmp / "many-notebooks.zip"): (zero, [invalid], "invalid notebook"),
        _zip(tmp / "too-many-entries.zip", {f"exercises/f{i}.ipynb": "" for i in range(2500)}):
            (zero, ["2500 entries"], "zip too large"),
        huge_layers(tmp / "huge-layers", optimizer):
            ({"MatMul": 0, "Sigmoid": 0, "Affine": 0, "SGD": 25}, ["larger than 1024 KiB"], "unreadable layers.py"),
        _write(tmp / "empty-folder", {}): (zero, ["no layers.py, optimizer.py or notebook"], "no submission"),
        tmp / "does-not-exist": (zero, ["does not exist"], "no submission"),
        _write(tmp / "lone", {"layers.py": layers}) / "layers.py":
            ({"MatMul": 25, "Sigmoid": 25, "Affine": 25, "SGD": 0}, ["optimizer.py is missing"],
             "missing optimizer.py"),
        _write(tmp / "grades.csv", reference): (full, []),
        _zip(tmp / "...zip", {f"exercises/{k}": v for k, v in reference.items()}): (full, []),
    }
    text = tmp / "notes.txt"
    text.write_text("my answers are in the zip\n")
    cases[text] = (zero, ["not a submission"], "not a submission")
    encrypted = tmp / "encrypted.zip"
    encrypted.write_bytes(ENCRYPTED_ZIP)
    cases[encrypted] = (zero, ["is encrypted (zip -e)"], "encrypted zip")
    bad_name = _zip(tmp / "bad-entry-name.zip", {"exercises/layers\u00e9.py": layers, "exercises/optimizer.py": optimizer})
    bad_name.write_bytes(bad_name.read_bytes().replace("layers\u00e9".encode(), b"layers\xff\xfe"))
    cases[bad_name] = (zero, ["not valid UTF-8"], "not a zip")
    loop = tmp / "link-loop"
    loop.symlink_to(loop.name)
    cases[loop] = (zero, ["symbolic link loop"], "unreadable")
    pipe = tmp / "pipe.zip"
    os.mkfifo(pipe)
    cases[pipe] = (zero, ["named pipe"], "not a submission")
    return cases


MEMORY_BOUND_MB = 150
_PEAK = ("import resource, sys\n"
         "from grading import submissions\n"
         "for path in sys.argv[1:]:\n"
         "    sub = submissions.load(path)\n"
         "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10\n"
         "    print(f'{peak} {sub.status}: {path}')\n")


@step("grader: reading is bounded: a small zip of 1000 1-MiB notebooks, a 1 GiB layers.py (peak memory)")
def grader_bounded_reading(problems):
    from grading import catalogue
    reference = catalogue.reference_sources()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        honest = _write(tmp / "honest", reference)
        bomb = many_notebooks_zip(tmp / "many-notebooks.zip")
        huge = huge_layers(tmp / "huge-layers", reference["optimizer.py"])
        done = run([PY, "-c", _PEAK, str(honest), str(bomb), str(huge)])
        lines = done.stdout.split("\n")
        problems.expect(done.returncode == 0 and len(lines) >= 3, f"loading failed:\n{done.stderr[-1500:]}")
        peaks = [int(line.split()[0]) for line in lines if line.strip()]
        said = [line.split(" ", 1) + [""] for line in lines if line.strip()]
        print("   peak RSS of a fresh process loading them in turn: " + ", ".join(
            f"{Path(rest.split(': ', 1)[-1]).name} {peak} MB ({rest.split(': ', 1)[0]})"
            for peak, rest, _ in said))
        print(f"   zip: {bomb.stat().st_size >> 10} KiB on disk, {ZIP_BOMB_ENTRIES} MiB unpacked; "
              f"layers.py: 1024 MiB (sparse)")
        problems.expect(peaks and max(peaks) < MEMORY_BOUND_MB,
                        f"loading used {max(peaks, default=0)} MB at peak (bound {MEMORY_BOUND_MB} MB):\n"
                        + done.stdout)
