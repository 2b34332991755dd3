"""Plug-in model tests: the book's network (Affine, Sigmoid, Affine, softmax with
cross-entropy) built from the judge's reference layers (grading/judge/reference.py),
with one class of the submission swapped in, trained for a few SGD steps on a small
spiral data set next to the all-reference network. The arithmetic is the same, so the
two must agree to rounding, step by step.

The student's layers live in the sandbox: the model gathers their params and grads
before the first forward (`hold`, as `params += layer.params` does), and its optimizer
changes the gathered arrays in place (`subtract`, as the book's SGD does). With the
student's SGD, update runs on the lists gathered from the reference layers, and the judge
copies what it left in the original arrays back into them. MatMul stands in the network
as MatMul followed by a bias (the book's Affine = MatMul + Repeat node). The plugged
layer is the second one (after the Sigmoid), whose dx the network needs.

Every failure speaks in model terms: "with your Sigmoid in the network, ...".
"""
import numpy as np

from grading.judge import reference as R
from grading.judge.suites import checks as C

LR = 1.0                  # the book's learning rate for the spiral data
HIDDEN = 5
PER_CLASS, BATCH = 5, 5   # 15 points: 3 steps on batches of 5, then the loss on all 15
NAMES = ("W1", "b1", "W2", "b2")


def _kind(value):
    return "None" if str(value) == "NoneType" else f"a {value}"


class ModelFailure(AssertionError):
    """One message in model terms: the test reports it and stops."""


def _same(a, b):
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and bool(np.allclose(a, b, rtol=1e-8, atol=1e-10)))


def _error(a, b):
    if not isinstance(a, np.ndarray) or a.shape != np.shape(b):
        return f"{a} against an array of shape {np.shape(b)}"
    return f"max abs error {float(np.max(np.abs(a - b))):.2e}"


# --- the parts of a network -----------------------------------------------------------

class Local:
    """A reference layer: its gathered arrays are its own."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, x):
        return self.layer.forward(x)

    def backward(self, dout):
        return self.layer.backward(dout)

    def grads(self):
        return [g.copy() for g in self.layer.grads]

    def step(self, grads):
        for p, g in zip(self.layer.params, grads):
            p -= LR * g


class Plugged:
    """The student's layer in the judge's network (objects in the sandbox)."""

    def __init__(self, subject, cls, params):
        self.cls, self.count = cls, len(params)
        self.where = f"with your {cls} in the network"
        self.layer = self._call("creating it", C.Student, subject, cls, *params)
        self.gathered = {attr: self._gather(attr) for attr in ("params", "grads")}

    def _call(self, doing, func, *args):
        try:
            return func(*args)
        except AssertionError as exc:
            raise ModelFailure(f"{self.where}, {doing}: {exc}") from None

    def _gather(self, attr):
        what = f"{self.cls}.{attr} cannot be gathered"
        items = self._call(what, self.layer.read, attr)
        if not isinstance(items, list):
            raise ModelFailure(f"{self.where}, {what}: it is {_kind(items)}, and a model adds every "
                               f"layer's {attr} to its own list with += (a layer without "
                               "parameters has empty lists)")
        if len(items) != self.count:
            raise ModelFailure(f"{self.where}, the model gathers {len(items)} array(s) from "
                               f"{self.cls}.{attr}, expected {self.count}")
        return self._call(what, self.layer.hold, attr)

    def forward(self, x):
        out = self._call(f"{self.cls}.forward failed", self.layer.forward, x)
        if not isinstance(out, np.ndarray):
            raise ModelFailure(f"{self.where}, {self.cls}.forward returned {out}")
        return out

    def backward(self, dout):
        dx = self._call(f"{self.cls}.backward failed", self.layer.backward, dout)
        if not isinstance(dx, np.ndarray):
            raise ModelFailure(f"{self.where}, {self.cls}.backward returned {dx}, and the "
                               "layer before it needs that dx")
        return dx

    def grads(self):
        if not self.count:
            return []
        return self._call("reading the gathered grads failed", self.gathered["grads"].values)

    def step(self, grads):
        if self.count:
            self._call("the model's update of the gathered params failed",
                       self.gathered["params"].subtract, [LR * g for g in grads])


def _parts(params, plug, subject):
    """The network's parts; `plug` names the student's layer class (or None)."""
    W1, b1, W2, b2 = [p.copy() for p in params]

    def own(cls, *args):
        if cls == plug:
            return Plugged(subject, cls, list(args))
        return Local(getattr(R, cls)(*args))

    # The student's layer goes second, where its dx feeds the layer before it: one
    # plugged layer keeps the number of calls into the sandbox small.
    if plug == "MatMul":
        return [Local(R.Affine(W1, b1)), own("Sigmoid"), own("MatMul", W2), Local(R.Bias(b2))]
    return [Local(R.Affine(W1, b1)), own("Sigmoid"), own("Affine", W2, b2)]


# --- training ---------------------------------------------------------------------------

def network_data(rng):
    """Data, batches and first parameters for one test."""
    x, t = R.spiral(rng, PER_CLASS)
    order = rng.permutation(len(x))
    batches = [(x[order[i:i + BATCH]], t[order[i:i + BATCH]]) for i in range(0, len(x), BATCH)]
    params = [0.5 * rng.standard_normal((2, HIDDEN)), 0.1 * rng.standard_normal(HIDDEN),
              0.5 * rng.standard_normal((HIDDEN, 3)), 0.1 * rng.standard_normal(3)]
    return x, t, batches, params


class Run:
    """One network trained step by step; `events` yields what the model sees."""

    def __init__(self, parts, sgd=None):
        self.parts, self.sgd, self.loss = parts, sgd, R.SoftmaxWithLoss()

    def forward(self, x, t):
        for part in self.parts:
            x = part.forward(x)
        return self.loss.forward(x, t)

    def backward(self):
        dout = self.loss.backward()
        for part in reversed(self.parts):
            dout = part.backward(dout)
        return [g for part in self.parts for g in part.grads()]

    def update(self, grads):
        """The reference SGD on every part, or the student's on the gathered lists."""
        if self.sgd is None:
            at = 0
            for part in self.parts:
                count = len(part.layer.grads) if isinstance(part, Local) else part.count
                part.step(grads[at:at + count])
                at += count
            return None
        params = [p for part in self.parts for p in part.layer.params]
        result = self.sgd.update(params, grads)
        for p, after in zip(params, result["params"]):
            if isinstance(after, np.ndarray) and after.shape == p.shape:
                p[...] = after     # what update left in the arrays the layers hold
        return [p.copy() for p in params]


def _reference_record(params, batches, x, t):
    run = Run(_parts(params, None, None))
    record = []
    for xb, tb in batches:
        loss = run.forward(xb, tb)
        grads = run.backward()
        run.update(grads)
        record.append((loss, grads, [p.copy() for part in run.parts for p in part.layer.params]))
    return record, run.forward(x, t)


def check_network(subject, rng, cls):
    """Train the book's network with the student's `cls` and the all-reference one."""
    x, t, batches, params = network_data(rng)
    record, final_loss = _reference_record(params, batches, x, t)
    try:
        _train_and_compare(subject, cls, params, batches, record, x, t, final_loss)
    except ModelFailure as exc:
        yours = "여러분의 SGD로" if cls == "SGD" else f"여러분의 {cls} 계층을 넣은"
        C.fail(f"{exc} / {yours} 책의 2층 신경망을 학습하면 참조 신경망과 결과가 다릅니다")


def _train_and_compare(subject, cls, params, batches, record, x, t, final_loss):
    where = f"with your {cls} in the network"
    sgd = None
    if cls == "SGD":
        sgd = C.Student(subject, "SGD", lr=LR)
        where = "with your SGD"
    run = Run(_parts(params, cls, subject), sgd)
    before = [p.copy() for p in params]
    for k, ((xb, tb), (loss_r, grads_r, params_r)) in enumerate(zip(batches, record), 1):
        at = f"step {k} of {len(batches)}, a batch of {len(xb)}"
        loss = _guarded(where, at, run.forward, xb, tb)
        if not np.isclose(loss, loss_r, rtol=1e-8, atol=1e-10):
            why = ("" if k == 1 else ": step 1 matched, so the model's in-place updates of "
                   f"the arrays it gathered from {cls}.params do not reach your forward")
            raise ModelFailure(f"{where}, the loss at {at} is {loss:.6g}, the reference "
                               f"network's is {loss_r:.6g}{why}")
        grads = _guarded(where, at, run.backward)
        for name, got, want in zip(NAMES, grads, grads_r):
            if not _same(got, want):
                zero = isinstance(got, np.ndarray) and not np.any(got)
                raise ModelFailure(
                    f"{where}, the gradient the model gathered for {name} at {at} "
                    + ("stays zero: backward never writes into the arrays the model gathered "
                       f"from {cls}.grads before the first forward" if zero else
                       f"differs from the reference network's ({_error(got, want)})"))
        after = _guarded(where, at, run.update, grads)
        if after is not None:
            _compare_sgd_step(after, params_r, before, at)
            before = after
    loss = _guarded(where, f"the loss on all {len(x)} points after training", run.forward, x, t)
    if not np.isclose(loss, final_loss, rtol=1e-8, atol=1e-10):
        raise ModelFailure(f"{where}, the loss on all {len(x)} points after training is "
                           f"{loss:.6g}, the reference network's is {final_loss:.6g}")
    _compare_final_params(run, record[-1][2], where)


def _guarded(where, at, func, *args):
    try:
        return func(*args)
    except ModelFailure as exc:
        raise ModelFailure(f"{exc} ({at})") from None
    except AssertionError as exc:
        raise ModelFailure(f"{where}, at {at}: {exc}") from None


def _compare_sgd_step(after, want, before, at):
    for name, got, w, b in zip(NAMES, after, want, before):
        if _same(got, w):
            continue
        if np.array_equal(got, b):
            raise ModelFailure(f"with your SGD the network's {name} never changes ({at}): the "
                               "layers hold the arrays the model gathered, so only a change "
                               "made in those arrays reaches them")
        raise ModelFailure(f"with your SGD the network's {name} after {at} differs from the "
                           f"reference network's ({_error(got, w)})")


def _compare_final_params(run, want, where):
    """The arrays the layer holds after training, against the reference network's."""
    got = []
    for part in run.parts:
        if isinstance(part, Plugged) and part.count:
            got += part._call("reading its params after training",
                              part.layer.read, "params")
        else:
            got += [p for p in part.layer.params] if isinstance(part, Local) else []
    for name, g, w in zip(NAMES, got, want):
        if not _same(g, w):
            raise ModelFailure(f"{where}, the {name} your layer holds after training differs "
                               f"from the reference network's ({_error(g, w)}): the model's "
                               "updates did not reach it")
