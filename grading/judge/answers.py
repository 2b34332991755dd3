"""What an answer from the sandbox may look like: every answer is checked against the shape
its request allows before anything in the judge uses it (else ProtocolError: "garbage").

Arrays arrive as dtype, shape and bytes (grading.sandbox.wire) and are checked for size
here; they are rebuilt as fresh float64 arrays only after this check.
"""
import math


from grading.sandbox import protocol
from grading.sandbox.wire import ALLOWED_DTYPES


def _bad(why="malformed answer"):
    raise protocol.ProtocolError(why)


def _text(value, limit):
    if not isinstance(value, str):
        _bad()
    # Lone surrogates ("\udc80") would break whoever writes the feedback as UTF-8.
    return value[:limit].encode("utf-8", "replace").decode("utf-8")


def _value(v):
    """One value as wire.encode makes it; strings shortened, arrays checked for size."""
    kind = v.get("kind") if isinstance(v, dict) else _bad()
    if kind == "none":
        return {"kind": "none"}
    if kind == "object":
        return {"kind": "object", "type": _text(v.get("type"), 100)}
    if kind == "scalar" and type(v.get("value")) in (int, float):
        try:
            return {"kind": "scalar", "value": float(v["value"])}
        except OverflowError:
            _bad()
    if kind == "array":
        dtype, shape, data = v.get("dtype"), v.get("shape"), v.get("data")
        if (isinstance(dtype, str) and dtype in ALLOWED_DTYPES and isinstance(data, bytes)
                and isinstance(shape, list) and len(shape) <= 32
                and all(type(n) is int and n >= 0 for n in shape)
                and math.prod(shape) * ALLOWED_DTYPES[dtype].itemsize == len(data)):
            return {"kind": "array", "dtype": dtype, "shape": shape, "data": data}
    _bad()


def _values(v):
    return [_value(x) for x in v] if isinstance(v, list) else _bad()


def _listing(v):
    if isinstance(v, dict) and v.get("kind") == "list":
        return {"kind": "list", "items": _values(v.get("items"))}
    value = _value(v)
    return value if value["kind"] == "object" else _bad()


def _handle(v):
    return v if type(v) is int else _bad()


def _record(**parts):
    def check(v):
        if not isinstance(v, dict):
            _bad()
        return {key: part(v.get(key)) for key, part in parts.items()}
    return check


ANSWER_SHAPES = {
    "new": _handle, "hold": _handle, "subtract": _handle, "read": _listing, "held": _listing,
    "call": _record(result=_value, args_after=_values),
    "sgd_update": _record(params=_values, grads=_values, list_items=_values),
}
_error_info = _record(type=lambda t: _text(t, 100), message=lambda m: _text(m, 1000),
                      where=lambda w: _text(w, 300))


def checked_answer(op, answer):
    """{"ok": ...} or {"error": ...}, of the shape `op` allows; else ProtocolError."""
    if not isinstance(answer, dict) or len(answer) != 1:
        _bad()
    if "error" in answer:
        return {"error": _error_info(answer["error"])}
    if "ok" in answer:
        return {"ok": ANSWER_SHAPES[op](answer["ok"])}
    _bad()
