"""Diagnoses of shape problems and of the errors student code raises.

One diagnosis per mistake, whichever way the code was written: a wrong-shaped gradient
reads the same whether it was rebound (`self.grads[1] = db`, seen in grads afterwards) or
written in place (`self.grads[1][...] = db`, where numpy raises a broadcast error inside
backward). The hint policy of the kata: a message names the property, the shapes, the
axis and the recognised mistake; it never gives the solution's formula as code.
"""
import re

# The solution's code, which no message may show (the README's hint policy); the
# selftest's grader step scans every feedback it produces for these.
SOLUTION_CODE = ("dout @ W.T", "x.T @ dout", ".T @ dout", "dout * y * (1", "sum(dout, axis=0)",
                 "dout.sum(axis=0)", "-= self.lr * g", "-= lr * g", "-= lr * grads[i]",
                 "-= self.lr * grads[i]")


def one_line(text):
    return " ".join(str(text).split())


def with_hint(message, hint):
    return message + (f"; {hint}" if hint else "")


def _sizes(N, D, H):
    return f"dout is (N, H) = ({N}, {H}), x is (N, D) = ({N}, {D}), W is (D, H) = ({D}, {H})"


def _dW_why(got, N, D, H):
    if got == (H, D) and D != H:
        return ("it is transposed: the gradient of a parameter has the parameter's shape, so "
                "put the factors in the order (and transpose the one) that gives (D, H)")
    if got == (N, N) and N not in (D, H):
        return (f"it is (N, N): the product summed over the features instead of the batch; dW "
                f"pairs x's D inputs with dout's H outputs and sums over the N samples "
                f"({_sizes(N, D, H)})")
    return (f"dW pairs x's D inputs with dout's H outputs and sums over the N samples of the "
            f"batch ({_sizes(N, D, H)})")


def _db_why(got, N, D, H):
    if got == (N,) and N != H:
        return (f"it has one entry per sample (N = {N}): sum over the batch axis (axis 0), "
                f"not over the outputs")
    if got == (N, H) and N != 1:
        return "it has the shape of dout: sum over the batch axis (axis 0)"
    if got == (1, H):
        return "the summed axis was kept (keepdims): b has a single axis of H entries"
    if got == ():
        return "it is one number: sum over the batch axis (axis 0) only, one entry per output"
    return f"db has one entry per output (H = {H}): sum dout over the batch axis (axis 0)"


def grad_shape_problem(cls, i, got, W_shape, N):
    """'Affine.backward: db (grads[1]) has shape (5,) but b has shape (4,): ...', or None
    when the shape is right."""
    D, H = W_shape
    got = tuple(got)
    name, param, want, why = (("dW", "W", (D, H), _dW_why) if i == 0
                              else ("db", "b", (H,), _db_why))
    if got == want:
        return None
    text = f"{cls}.backward: {name} (grads[{i}]) has shape {got} but {param} has shape {want}"
    return f"{text}: {why(got, N, D, H)}" if N is not None else text


# --- errors raised inside the student's code -------------------------------------------

def _shape(text):
    return tuple(int(n) for n in re.findall(r"\d+", text))


def _broadcast_into_grads(message, cls, context):
    """`self.grads[i][...] = g` with g of the wrong shape: numpy's broadcast error."""
    found = re.search(r"from shape \(([\d, ]*)\) into shape \(([\d, ]*)\)", message)
    W_shape, N = context.get("W"), context.get("N")
    if not found or W_shape is None:
        return None
    got, into = _shape(found.group(1)), _shape(found.group(2))
    D, H = W_shape
    for i, want in enumerate([(D, H), (H,)] if cls == "Affine" else [(D, H)]):
        if into == want:
            problem = grad_shape_problem(cls, i, got, W_shape, N)
            if problem:
                return "that is: " + problem
    return None


def _product_sizes(message):
    """(left operand's inner size, right operand's inner size) of a failed product."""
    aligned = re.search(r"shapes \(([\d, ]*)\) and \(([\d, ]*)\) not aligned", message)
    if aligned:
        left, right = _shape(aligned.group(1)), _shape(aligned.group(2))
        return (left[-1] if left else None), (right[0] if right else None)
    core = re.search(r"Input operand 1 has a mismatch in its core dimension 0.*"
                     r"\(size (\d+) is different from (\d+)\)", message)
    if core:
        return int(core.group(2)), int(core.group(1))
    return None


def _letters(size, N, D, H):
    names = [n for n, v in (("N", N), ("D", D), ("H", H)) if v == size]
    return "/".join(names) + f" = {size}" if names else f"{size}"


def _failed_product(message, cls, context, method):
    """A matrix product with sizes that do not fit, named with N, D, H."""
    W_shape, N = context.get("W"), context.get("N")
    sizes = _product_sizes(message)
    if W_shape is None or N is None or sizes is None:
        return None
    D, H = W_shape
    left, right = sizes
    if method == "forward":
        return (f"in forward, x is (N, D) and W is (D, H) = ({D}, {H}): the product's inner "
                f"sizes must both be D")
    text = (f"a matrix product in backward puts an array with {_letters(left, N, D, H)} "
            f"columns on the left of one with {_letters(right, N, D, H)} rows ({_sizes(N, D, H)})")
    if left == D and right == N and N != D:
        return (text + "; it looks like x times dout without a transpose: dW has W's shape "
                "(D, H), so its product must sum over the batch axis N")
    if left == H and right == D and H != D:
        return (text + "; it looks like dout times W as it is: dx has x's shape (N, D), so its "
                "product must sum over the outputs H")
    return (text + f"; dx must come out (N, D) and dW (D, H): each is a product of dout with "
            f"x or W, one of them transposed")


def _none_hint(cls, method):
    if method != "backward":
        return "a value is None where an array is needed"
    kept = "its output (self.out = out)" if cls == "Sigmoid" else "its input (self.x = x)"
    return f"is the cache still None? forward must keep {kept} every time it runs"


def _lists_hint(cls):
    if cls == "Sigmoid":
        return ("a layer without parameters still has self.params and self.grads, two empty "
                "lists: a model gathers them from every layer")
    return ("the layer keeps its parameters in self.params and one gradient array per "
            "parameter in self.grads (check the spelling: self.params, not self.parans)")


# (pattern on "Type: message", hint text or hint(message, cls, method, context))
_EXCEPTION_HINTS = (
    (r"has no attribute '(params|grads)'",
     lambda m, cls, method, c: _lists_hint(cls)),
    (r"name 'params' is not defined", lambda m, cls, method, c: _lists_hint(cls)),
    (r"name 'np' is not defined",
     "add `import numpy as np` before your classes (top of the file, or first notebook cell)"),
    (r"'NoneType' object is not subscriptable",
     "something indexed is None: self.params and self.grads must stay lists of arrays"),
    (r"'NoneType'|NoneType", lambda m, cls, method, c: _none_hint(cls, method)),
    (r"has no attribute '(x|out)'", lambda m, cls, method, c: _none_hint(cls, method)),
    (r"could not broadcast input array from shape",
     lambda m, cls, method, c: _broadcast_into_grads(m, cls, c) if method == "backward"
     else None),
    (r"matmul: Input operand|shapes .* not aligned|mismatch in its core dimension",
     lambda m, cls, method, c: _failed_product(m, cls, c, method)),
)


def exception_hint(info, cls, method, context=None):
    """A hint for the error `info` raised by cls.method, or None. context: what the call
    knows of the shapes ({"W": (D, H), "N": batch size})."""
    text = f"{info.get('type', '')}: {info.get('message', '')}"
    for pattern, hint in _EXCEPTION_HINTS:
        if re.search(pattern, text):
            return hint(text, cls, method, context or {}) if callable(hint) else hint
    return None
