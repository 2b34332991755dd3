"""Plain data for arrays, both ways across the sandbox boundary.

An array travels as dtype, shape and bytes; whoever receives it builds a fresh base-class
ndarray, so nothing of the sender's objects (subclasses, overridden methods) comes along.
"""
import math
from dataclasses import dataclass

import numpy as np


def encode(value):
    """A student's return value as plain data: arrays by dtype, shape and bytes."""
    if value is None:
        return {"kind": "none"}
    if isinstance(value, np.ndarray):
        # Base-class copy: a subclass's own methods (comparisons, __array__) never travel.
        base = np.array(value, copy=True, subok=False)
        if base.dtype.kind not in "biuf" or base.dtype.itemsize > 8:
            return {"kind": "object", "type": f"ndarray of {base.dtype}"}
        return {"kind": "array", "dtype": base.dtype.str, "shape": list(base.shape),
                "data": base.tobytes(order="C")}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "scalar", "value": float(value)}
    return {"kind": "object", "type": type(value).__name__}


@dataclass
class Foreign:
    """A value that is not a numeric array: None, a list, a scalar, another object."""
    type: str

    def __repr__(self):
        return self.type


ALLOWED_DTYPES = {np.dtype(c).str: np.dtype(c) for c in "?bBhHiIlLqQefd"}   # .str -> dtype


def decode(value):
    """Plain data -> a fresh, writable, base-class ndarray (or a `Foreign` marker)."""
    kind = value.get("kind")
    if kind == "array" and value["dtype"] in ALLOWED_DTYPES:
        dtype = ALLOWED_DTYPES[value["dtype"]]
        shape = tuple(int(n) for n in value["shape"])
        data = value["data"]
        if len(data) != dtype.itemsize * math.prod(shape):
            return Foreign("malformed array")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if kind == "none":
        return Foreign("None")
    if kind == "scalar":
        return Foreign(f"a number ({value['value']!r})")
    if kind == "list":
        return [decode(v) for v in value["items"]]
    return Foreign(str(value.get("type", "unknown")))
