"""Frames between the judge and a sandboxed process: plain JSON, nothing executable.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. Bytes (array
data) travel as {"$b64": "..."}. Both ends treat what they receive as untrusted: a frame
that is too long, too deep, not JSON, or cut short raises `ProtocolError`, and nothing
in a frame is ever turned into code or objects (no pickle).
"""
import base64
import binascii
import json
import struct
import time

MAX_FRAME = 16 << 20   # bytes of JSON in one frame; the suites' arrays are far smaller
MAX_DEPTH = 32         # nesting of lists and dicts; our messages need about 6
HEADER = struct.Struct(">I")
BROKEN_EXIT = 70       # a child's exit code when its connection to the judge broke
ISOLATION_EXIT = 71    # ... when its fresh namespaces or privilege drop failed


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


def _bytes_to_json(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} cannot cross the sandbox boundary")


def _json_to_bytes(obj):
    if "$b64" in obj:
        if len(obj) != 1 or not isinstance(obj["$b64"], str):
            raise ProtocolError("malformed bytes")
        return base64.b64decode(obj["$b64"], validate=True)
    return obj


def pack(obj):
    """One message as a frame (header included)."""
    payload = json.dumps(obj, default=_bytes_to_json, separators=(",", ":")).encode()
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"a message of {len(payload) >> 20} MiB is over the frame limit")
    return HEADER.pack(len(payload)) + payload


def _check_depth(container, depth=1):
    """Lists and dicts (the only containers json.loads makes) nested at most MAX_DEPTH
    deep. Scalars are skipped without a call: this runs on every answer."""
    if depth > MAX_DEPTH:
        raise ProtocolError("message nested too deeply")
    for v in container.values() if type(container) is dict else container:
        if type(v) is dict or type(v) is list:
            _check_depth(v, depth + 1)


def unpack(payload):
    """The message in a frame's payload; any defect is a ProtocolError."""
    try:
        # The C parser stops deep nesting with RecursionError long before the stack ends.
        obj = json.loads(payload.decode("utf-8"), object_hook=_json_to_bytes)
    except (ValueError, RecursionError, binascii.Error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not a JSON message: {type(exc).__name__}") from None
    if type(obj) is dict or type(obj) is list:
        _check_depth(obj)
    return obj


def unpack_datagram(data):
    """A frame that arrived whole, as one SOCK_SEQPACKET message (the control channel)."""
    if len(data) < HEADER.size or HEADER.unpack_from(data)[0] != len(data) - HEADER.size:
        raise ProtocolError("malformed datagram")
    return unpack(data[HEADER.size:])


def _remaining(deadline):
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def send(sock, obj, deadline=None):
    """Send one message; `deadline` (time.monotonic) bounds the whole send."""
    send_frame(sock, pack(obj), deadline)


def send_frame(sock, frame, deadline=None):
    """Send a frame made by `pack` (so that packing errors can be told from send errors)."""
    data = memoryview(frame)
    while data:
        sock.settimeout(_remaining(deadline))  # socket.timeout is TimeoutError
        data = data[sock.send(data):]


def _recv_exactly(sock, n, deadline):
    chunks, got = [], 0
    while got < n:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError(got)
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock, deadline=None):
    """Receive one message. EOFError if the other end closed between frames;
    ProtocolError for a bad or cut-short frame; TimeoutError past the deadline."""
    try:
        header = _recv_exactly(sock, HEADER.size, deadline)
    except EOFError as eof:
        if eof.args[0]:
            raise ProtocolError("frame header cut short") from None
        raise
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes announced")
    try:
        payload = _recv_exactly(sock, length, deadline)
    except EOFError:
        raise ProtocolError("frame cut short") from None
    return unpack(payload)
