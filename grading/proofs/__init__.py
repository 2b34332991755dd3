"""The selftest's proofs, one module per topic; `grading.selftest` runs them in order.

Each proof is a function `proof(problems)` registered with `@step(title)`; it appends a
sentence to `problems` for everything that is wrong. To add a topic, add a module here and
name it in MODULES.
"""
import importlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PY = sys.executable
STEPS = []
# The order the selftest runs them in: cheap and fundamental first.
MODULES = ["kata", "public", "notebook", "student", "training", "sandbox", "trust", "grader",
           "inputs", "batch", "output", "gradescope", "nbgrader", "browser"]


def load_steps():
    """Every registered step, in MODULES order: [(title, function)]."""
    for name in MODULES:
        importlib.import_module(f"grading.proofs.{name}")
    return STEPS


def step(title):
    def register(func):
        STEPS.append((title, func))
        return func
    return register


def run(cmd, **kwargs):
    """A command's completed process, output captured; never raises on exit status."""
    kwargs.setdefault("cwd", ROOT)
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


class Problems(list):
    def expect(self, condition, message):
        if not condition:
            self.append(message)



def _write(folder, files):
    folder.mkdir(parents=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return path


def _notebook(cells):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
        for c in cells]})
