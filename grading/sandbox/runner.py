"""The student's objects, driven by plain-data requests.

Runs inside the sandbox (or in-process for the judge's own tests). Every request names
objects by integer handles and passes arrays by value; every answer is plain data
(see `encode`). Nothing here knows what a right answer is: the judge decides.
"""
import linecache
import sys
import traceback
import types

from grading.sandbox.wire import decode, encode

# The student's files, by module name. A notebook submission arrives as one module.
STUDENT_MODULES = ("layers", "optimizer", "notebook")


class StudentCodeError(Exception):
    """Student code raised; carries a description without the grader's frames."""

    def __init__(self, exc):
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename.startswith("<student ")]
        where = ""
        if frames:
            f = frames[-1]
            code = (f.line or "").strip()
            # A stub's `raise NotImplementedError(...)` line would only repeat the message.
            shown = "" if not code or code.startswith("raise ") else f": {code}"
            where = f"{f.filename[9:-1]} line {f.lineno}, in {f.name}{shown}"
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.info = {"type": type(exc).__name__, "message": str(exc)[:500], "where": where}


def load_sources(sources):
    """Execute each student file as its own module; returns {module: error text or None}.

    A notebook arrives as a list of cells: each cell runs on its own, so one broken cell
    leaves the classes of the others usable.
    """
    problems = {}
    for name, text in sources.items():
        module = types.ModuleType(name)
        module.__file__ = f"<student {name}.py>"
        sys.modules[name] = module
        cells = text if isinstance(text, list) else [text]
        errors = []
        for index, cell in enumerate(cells):
            label = f"<student {name}.py>" if len(cells) == 1 else f"<student cell {index + 1}>"
            # Registered so that error reports can quote the student's line.
            linecache.cache[label] = (len(cell), None, cell.splitlines(True), label)
            try:
                exec(compile(cell, label, "exec"), module.__dict__)
            except BaseException as exc:  # SystemExit too: a student file may not end the session
                if isinstance(exc, SyntaxError):
                    errors.append(f"SyntaxError in {label[9:-1]} line {exc.lineno}: {exc.msg}")
                else:
                    errors.append(StudentCodeError(exc).info["type"] + " while loading "
                                  + label[9:-1] + ": " + str(exc)[:300])
        problems[name] = "; ".join(errors) or None
    return problems


class Runner:
    """Holds the student's objects; each public method is one request."""

    def __init__(self, sources):
        self.load_problems = load_sources(sources)
        self.modules = [sys.modules[name] for name in sources]
        self.objects = {}
        self.lists = {}

    def _class(self, cls_name):
        for module in self.modules:
            cls = module.__dict__.get(cls_name)
            if isinstance(cls, type):
                return cls
        problems = "; ".join(p for p in self.load_problems.values() if p)
        raise LookupError(f"no class {cls_name} was found"
                          + (f" (the file could not be loaded: {problems})" if problems else ""))

    def _student(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            raise StudentCodeError(exc) from None

    def new(self, cls_name, args=(), kwargs=None):
        """Construct cls_name(*args, **kwargs); returns a handle."""
        obj = self._student(self._class(cls_name), *args, **(kwargs or {}))
        handle = len(self.objects) + 1
        self.objects[handle] = obj
        return handle

    def call(self, handle, method, args=()):
        """obj.method(*args); answers the result and the arguments' values afterwards."""
        bound = self._student(getattr, self.objects[handle], method)
        result = self._student(bound, *args)
        return {"result": encode(result), "args_after": [encode(a) for a in args]}

    def read(self, handle, attr):
        """The current values of a list attribute's items (params or grads)."""
        items = self._student(getattr, self.objects[handle], attr)
        if not isinstance(items, (list, tuple)):
            return {"kind": "object", "type": type(items).__name__}
        return {"kind": "list", "items": [encode(v) for v in items]}

    def hold(self, handle, attr):
        """Keep the list's items now, as a model does with `grads += layer.grads`."""
        items = self._student(getattr, self.objects[handle], attr)
        ref = len(self.lists) + 1
        self.lists[ref] = list(items) if isinstance(items, (list, tuple)) else []
        return ref

    def held(self, ref):
        """The current values of the arrays kept by `hold`."""
        return {"kind": "list", "items": [encode(v) for v in self.lists[ref]]}

    def subtract(self, ref, values):
        """`held[i] -= values[i]` on the arrays kept by `hold`: a model's optimizer step
        (p -= lr * g, with lr * g computed by the judge)."""
        def write(item, value):
            item -= value          # student objects may define __isub__: guarded

        for item, value in zip(self.lists[ref], values):
            self._student(write, item, value)
        return ref

    def sgd_update(self, handle, params, grads):
        """update() on aggregate copies of two lists, as a model hands them over.

        Answers the values of the original arrays (what the layers hold) and of the
        list items after the call (to tell rebinding apart from not updating).
        """
        param_list, grad_list = list(params), list(grads)
        self._student(self.objects[handle].update, param_list, grad_list)
        return {"params": [encode(a) for a in params], "grads": [encode(a) for a in grads],
                "list_items": [encode(a) for a in param_list]}


def _decode_request(fields):
    """The runner's view of a request: encoded arrays become arrays."""
    out = {}
    for key, value in fields.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out[key] = [decode(v) for v in value]
        else:
            out[key] = value
    return out


def answers(the_runner, steps):
    """Answer requests ({"op", "fields"}) in turn, stopping after the first error: the
    steps after it are not run, as a test stops at the first call that raises. A step whose
    `handle` is None means the object the batch's first step (a "new") made."""
    made = None
    for step in steps:
        fields = step["fields"]
        if "handle" in fields and fields["handle"] is None:
            fields = dict(fields, handle=made)
        try:
            answer = serve(the_runner, step["op"], fields)
        except BaseException as exc:   # the runner's own failure, e.g. MemoryError in encode
            answer = {"error": {"type": type(exc).__name__, "message": str(exc)[:300],
                                "where": ""}}
        if made is None and step["op"] == "new" and "ok" in answer:
            made = answer["ok"]
        yield answer
        if "error" in answer:
            return


def serve(the_runner, op, fields):
    """Answer one request on the runner's side; student exceptions become error info."""
    if op not in ("new", "call", "read", "hold", "held", "subtract", "sgd_update"):
        raise ValueError(f"unknown request {op!r}")
    try:
        return {"ok": getattr(the_runner, op)(**_decode_request(fields))}
    except StudentCodeError as exc:
        return {"error": exc.info}
    except LookupError as exc:
        return {"error": {"type": "Missing", "message": str(exc).strip("'\""), "where": ""}}
