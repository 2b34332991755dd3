"""The public checks of SGD (optimizer.py); see kata_checks for how checks work."""
import numpy as np

from kata_checks import check, fail
from kata_guard import attribute, call


def data(seed):
    """params [W (3, 4), b (4,)] and grads of the same shapes, float64."""
    rng = np.random.default_rng(seed)
    return ([rng.standard_normal((3, 4)), rng.standard_normal(4)],
            [rng.standard_normal((3, 4)), rng.standard_normal(4)])


def make(SGD, *args):
    return call("SGD(lr=0.1)" if args else "SGD()", SGD, *args)


def update(sgd, params, grads):
    """sgd.update(params, grads); grads must come back unchanged."""
    return call("SGD.update", sgd.update, params, grads,
                protect={f"grads[{i}]": g for i, g in enumerate(grads)})


def step_error(name, before, after, grad, lr):
    """(en, ko, short cause) for a wrong step of one parameter, or None when it is right."""
    if after.shape == before.shape and np.allclose(after, before - lr * grad):
        return None
    if after.shape != before.shape:
        return (f"SGD.update changed the shape of {name} from {before.shape} to {after.shape}",
                f"SGD.update가 {name}의 모양을 {before.shape}에서 {after.shape}로 바꿨습니다",
                f"{name} changed shape")
    if np.array_equal(after, before):
        return (f"SGD.update left {name} unchanged: every parameter takes one step against its "
                "gradient, and the step must change the array itself (in place): a new array "
                "made inside update (p = p - ...) reaches neither the list nor the layers",
                f"SGD.update가 {name}를 바꾸지 않았습니다. 매개변수마다 기울기 반대 방향으로 한 걸음 가야 하고, "
                "배열 자체를 제자리에서 바꿔야 합니다. update 안에서 만든 새 배열(p = p - ...)은 리스트에도 "
                "계층에도 전해지지 않습니다", f"{name} unchanged (not updated in place)")
    if np.allclose(after, before + lr * grad):
        return (f"SGD.update moved {name} up the gradient: the step goes against it (W ← W - lr·dW)",
                f"SGD.update가 {name}를 기울기 방향으로 옮겼습니다. 반대 방향이어야 합니다",
                "wrong sign (moves up the gradient)")
    if np.allclose(after, before - grad):
        return (f"SGD.update forgot the learning rate for {name}: the step is lr times the gradient",
                f"SGD.update가 {name}에 학습률을 곱하지 않았습니다. 한 걸음은 lr × 기울기 입니다",
                "learning rate missing")
    return (f"SGD.update: {name} should move by -lr times its gradient (W ← W - lr·dW), "
            f"largest difference {np.max(np.abs(after - (before - lr * grad))):.3g}",
            f"SGD.update: {name}는 -lr × 기울기 만큼 움직여야 합니다", f"{name} moved by the wrong amount")


def steps_right(params, before, grads, lr, suffix=("", "")):
    for i, (b, g) in enumerate(zip(before, grads)):
        message = step_error(f"params[{i}]", b, np.asarray(params[i]), g, lr)
        if message:
            fail(message[0] + suffix[0], message[1] + suffix[1], message[2])


@check("SGD", "default learning rate")
def default_learning_rate(SGD):
    default_lr = attribute(make(SGD), "lr", "SGD")
    given_lr = attribute(make(SGD, 0.5), "lr", "SGD")
    if default_lr != 0.01:
        fail(f"SGD().lr is {default_lr!r}: the default learning rate is 0.01 (def __init__(self, lr=0.01))",
             f"SGD().lr가 {default_lr!r} 입니다. 기본 학습률은 0.01 입니다")
    if given_lr != 0.5:
        fail(f"SGD(lr=0.5).lr is {given_lr!r}: keep the argument as self.lr",
             f"SGD(lr=0.5).lr가 {given_lr!r} 입니다. 인자를 self.lr에 저장하세요")


@check("SGD", "update values")
def update_values(SGD):
    params, grads = data(1)
    before, grads_before = [p.copy() for p in params], [g.copy() for g in grads]
    update(make(SGD, 0.1), params, grads)
    steps_right(params, before, grads_before, 0.1)


@check("SGD", "update uses lr")
def update_uses_lr(SGD):
    params, grads = data(2)
    before = [p.copy() for p in params]
    update(make(SGD), params, grads)
    steps_right(params, before, grads, 0.01, (" (with the default lr 0.01: use self.lr)",
                                              " (기본 lr 0.01: self.lr를 쓰세요)"))


@check("SGD", "update in place")
def update_in_place(SGD):
    params, grads = data(3)
    arrays = list(params)   # the layers hold these very arrays
    before = [p.copy() for p in params]
    update(make(SGD, 0.1), params, grads)
    for i in range(2):
        if params[i] is not arrays[i]:
            fail(f"SGD.update put a new array in params[{i}] instead of changing the existing one: "
                 "change it in place (an augmented assignment such as -=); the layers hold the same "
                 "arrays and would never see a new one",
                 f"SGD.update가 params[{i}]에 새 배열을 넣었습니다. 기존 배열을 제자리에서 바꾸세요 (-= 같은 "
                 "복합 대입). 계층들은 같은 배열을 들고 있어 새 배열을 보지 못합니다", f"params[{i}] replaced")
        if np.array_equal(arrays[i], before[i]):
            message = step_error(f"params[{i}]", before[i], arrays[i], grads[i], 0.1)
            fail(*message)


@check("SGD", "grads unchanged")
def grads_unchanged(SGD):
    params, grads = data(4)
    update(make(SGD, 0.1), params, grads)


@check("SGD", "one optimizer for several layers")
def shared_by_layers(SGD):
    """A model gathers params and grads of several layers into two lists, then calls
    update once per step; every layer must see every step."""
    rng = np.random.default_rng(5)
    layers = [([rng.standard_normal((3, 4)), rng.standard_normal(4)],
               [rng.standard_normal((3, 4)), rng.standard_normal(4)]),
              ([], []),     # a layer without parameters, as Sigmoid
              ([rng.standard_normal((4, 2))], [rng.standard_normal((4, 2))])]
    params, grads = [], []
    for p, g in layers:
        params += p
        grads += g
    sgd = make(SGD, 0.1)
    for step in range(2):
        before = [p.copy() for p in params]
        update(sgd, params, grads)
        held = [a for p, _ in layers for a in p]
        for i, (p, a) in enumerate(zip(params, held)):
            if p is not a:
                fail(f"SGD.update replaced params[{i}]: the layer still holds the old array",
                     f"SGD.update가 params[{i}]를 바꿔 넣었습니다. 계층은 옛 배열을 들고 있습니다")
        steps_right(held, before, grads, 0.1, (f" (step {step + 1}, {len(params)} parameters "
                                                "of three layers)", f" ({step + 1}번째 단계)"))
