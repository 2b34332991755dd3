"""The public checks of MatMul, Sigmoid and Affine: forward and backward shapes, values and
gradients (against central differences); with kata_model's, registered for each layer.
See kata_checks for how checks work."""
import numpy as np

from gradcheck import TOLERANCE, layer_gradients, rel_error, scale_between
from kata_checks import (DIMS, H, N, as_array, backward, check, context, data, fail,
                         forward, make)
from kata_guard import Failure, call, say, shape_mistake
from kata_model import in_a_model, interface, unchanged_arguments, writes_grads_in_place


def gradient_problem(cls, grad, analytic, numeric, batch=None):
    """Why backward's `grad` differs from the numerical gradient, or None when it does not."""
    if analytic is None:
        return (say(f"{cls}.backward returned None: return dx", f"{cls}.backward가 None을 반환했습니다. dx를 반환하세요")
                if grad == "dx" else say(f"{cls}.grads has no array for {grad}", f"{cls}.grads에 {grad} 배열이 없습니다"))
    if analytic.shape != numeric.shape:
        return say(f"{cls}.backward: {grad} has shape {analytic.shape}, should be {numeric.shape}",
                   f"{cls}.backward: {grad}의 모양이 {analytic.shape} 인데 {numeric.shape} 이어야 합니다") \
            + "\n" + shape_mistake(grad, analytic.shape, numeric.shape, DIMS)
    err = rel_error(analytic, numeric)
    if err <= TOLERANCE:
        return None
    if grad != "dx" and not np.any(numeric):
        return say(f"{cls}.forward ignores the arrays in self.params (changing them changes nothing): "
                   "read the parameters from self.params",
                   f"{cls}.forward가 self.params의 배열을 쓰지 않습니다. 매개변수는 self.params에서 읽으세요")
    scale = scale_between(analytic, numeric)
    if scale == 0:
        why = (f"{grad} is all zeros", f"{grad}가 모두 0입니다")
    elif scale is not None and np.isclose(scale, -1):
        why = (f"{grad} has the wrong sign", f"{grad}의 부호가 반대입니다")
    elif batch and scale is not None and np.isclose(scale, 1 / batch):
        why = (f"{grad} looks averaged over the batch (divided by N={batch}); the gradient is the sum",
               f"{grad}가 배치 평균(N={batch}으로 나눔)인 것 같습니다. 기울기는 합입니다")
    else:
        why = (f"{grad} differs from the numerical gradient (relative error {err:.1e})",
               f"{grad}가 수치 미분과 다릅니다 (상대 오차 {err:.1e})")
    return say(f"{cls}.backward: {why[0]}", f"{cls}.backward: {why[1]}")


def gradient_check(cls, Layer, grad):
    x, W, b, _ = data(4, sigmoid=cls == "Sigmoid")
    layer = make(cls, Layer, W, b)
    names = {"MatMul": ["W"], "Affine": ["W", "b"], "Sigmoid": []}[cls]
    out = forward(cls, layer, x.copy())
    want = x.shape if cls == "Sigmoid" else (N, H)
    if as_array(f"{cls}.forward", out, want, "the output", "출력") is None:
        fail(f"{cls}.forward: out has shape {np.shape(out)}, should be {want} (fix forward first)",
             f"{cls}.forward: 출력 모양이 {np.shape(out)} 인데 {want} 이어야 합니다 (forward부터 고치세요)")
    def guarded(what, fn, arg):
        label = "x" if what.endswith("forward") else "dout"
        return call(what, fn, arg, protect={label: arg}, context=context(cls, x, layer))

    analytic, numeric = layer_gradients(layer, x, np.random.default_rng(40), names=names,
                                        call=guarded)[grad]
    problem = gradient_problem(cls, grad, analytic, numeric, batch=N if cls == "Affine" else None)
    if problem and cls == "Sigmoid" and analytic is not None and analytic.shape == x.shape:
        G = np.random.default_rng(40).standard_normal(x.shape)
        if rel_error(analytic, G * x * (1 - x)) <= TOLERANCE:
            problem = say("Sigmoid.backward: dx looks computed from the input x: the derivative "
                          "y(1 - y) is written with the output y = sigmoid(x), kept by forward",
                          "Sigmoid.backward: dx를 입력 x로 계산한 것 같습니다. 미분 y(1 - y)의 y는 "
                          "forward가 저장한 출력입니다")
    if problem:
        detail = problem.splitlines()[0].partition(": ")[2]
        raise Failure(problem, "fail", detail[:90])


def forward_shape(cls, Layer):
    for n in (N, 1):   # a batch of one exposes squeezed or summed-away axes
        x, W, b, _ = data(1, n, sigmoid=cls == "Sigmoid")
        out = forward(cls, make(cls, Layer, W, b), x)
        want = x.shape if cls == "Sigmoid" else (n, H)
        if as_array(f"{cls}.forward", out, want, "the output", "출력") is None:
            fail(f"{cls}.forward: out has shape {np.shape(out)} but should be {want} for x {x.shape}"
                 + ("" if cls == "Sigmoid" else f" and W {W.shape}"),
                 f"{cls}.forward: 출력 모양이 {np.shape(out)} 인데 {want} 이어야 합니다")


def forward_values(cls, Layer):
    x, W, b, _ = data(2, sigmoid=cls == "Sigmoid")
    if cls == "Sigmoid":
        x[0] = [0.0, np.log(3), -np.log(3)]
    out = as_array(f"{cls}.forward", forward(cls, make(cls, Layer, W, b), x.copy()), x.shape
                   if cls == "Sigmoid" else (N, H), "the output", "출력")
    if out is None:
        fail(f"{cls}.forward: out has the wrong shape (see the forward shape check)",
             f"{cls}.forward: 출력 모양이 틀렸습니다 (forward shape 검사를 보세요)")
    if cls == "Sigmoid":
        want = 1 / (1 + np.exp(-x))
        if not np.allclose(out[0], [0.5, 0.75, 0.25]):
            fail(f"Sigmoid.forward: sigmoid(0), sigmoid(ln 3), sigmoid(-ln 3) should be 0.5, 0.75, "
                 f"0.25, got {np.round(out[0], 4).tolist()}: out = 1 / (1 + exp(-x)), element-wise",
                 "Sigmoid.forward: sigmoid(0), sigmoid(ln 3), sigmoid(-ln 3)는 0.5, 0.75, 0.25 입니다")
    else:
        want = x @ W + (b if cls == "Affine" else 0)
        if cls == "Affine" and np.allclose(out, x @ W):
            fail("Affine.forward: the bias b is not added (out = x @ W + b)",
                 "Affine.forward: 편향 b를 더하지 않았습니다 (out = x @ W + b)")
    if not np.allclose(out, want):
        fail(f"{cls}.forward: values differ from the definition in the docstring (largest "
             f"difference {np.max(np.abs(out - want)):.3g}); the parameters are in self.params",
             f"{cls}.forward: 값이 정의와 다릅니다 (최대 차이 {np.max(np.abs(out - want)):.3g}). "
             "매개변수는 self.params에 있습니다")


def backward_shapes(cls, Layer):
    for n in (N, 1):
        x, W, b, dout = data(3, n, sigmoid=cls == "Sigmoid")
        layer = make(cls, Layer, W, b)
        forward(cls, layer, x)
        dx = backward(cls, layer, dout, x)
        as_array(f"{cls}.backward", dx, x.shape, "dx", "dx")
        if np.shape(dx) != x.shape:
            extra = (say("the derivative acts element by element (no matrix product)",
                         "미분은 원소별로 곱합니다 (행렬 곱이 아닙니다)") if cls == "Sigmoid"
                     else shape_mistake("dx", np.shape(dx), x.shape, dict(DIMS, N=n)))
            fail(f"{cls}.backward: dx has shape {np.shape(dx)} but x has shape {x.shape}",
                 f"{cls}.backward: dx의 모양이 {np.shape(dx)} 인데 x의 모양은 {x.shape} 입니다",
                 f"dx has shape {np.shape(dx)}, x has {x.shape}", extra)
        for i, (name, p) in enumerate(zip("Wb", layer.params)):
            got = np.shape(layer.grads[i])
            if got != p.shape:
                fail(f"{cls}.backward: d{name} (grads[{i}]) has shape {got} but {name} has shape "
                     f"{p.shape}", f"{cls}.backward: d{name}의 모양이 {got} 인데 {name}의 모양은 {p.shape} 입니다",
                     f"d{name} has shape {got}, {name} has {p.shape}",
                     shape_mistake("d" + name, got, p.shape, dict(DIMS, N=n)))


def _register_layers():
    for cls in ("MatMul", "Sigmoid", "Affine"):
        grads = ["dx"] + {"MatMul": ["dW"], "Affine": ["dW", "db"], "Sigmoid": []}[cls]
        steps = [("interface", interface), ("in a model", in_a_model),
                 ("forward shape", forward_shape), ("forward values", forward_values),
                 ("backward shapes", backward_shapes)]
        steps += [(f"backward gradient check ({g})",
                   lambda c, L, g=g: gradient_check(c, L, g)) for g in grads]
        if cls != "Sigmoid":
            steps.append(("backward writes grads in place", writes_grads_in_place))
        steps.append(("arguments unchanged", unchanged_arguments))
        for label, func in steps:
            check(cls, label)(lambda Layer, cls=cls, func=func: func(cls, Layer))


_register_layers()
