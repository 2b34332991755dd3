"""Which of your classes to look at when the network does not train.

Three looks, cheapest first: the public tests of each class (the quick checks), one training
step watched from the model's side (are the gradients gathered, does SGD move the weights),
and, when something still goes wrong, the class whose code raised or first produced NaN.
Every finding is a Finding(cls, english, korean).
"""
import contextlib
import importlib.util
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES = ("MatMul", "Sigmoid", "Affine", "SGD")


@dataclass
class Finding:
    cls: str       # the class to look at ("" when it is not one of them)
    en: str
    ko: str

    def __str__(self):
        return f"{self.en}\n{self.ko}"


def load_modules(folder):
    """(layers, optimizer) imported from folder's layers.py and optimizer.py, or a Finding."""
    modules = []
    for name in ("layers", "optimizer"):
        path = Path(folder) / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"kata_train_{name}", path)
        try:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except FileNotFoundError:
            return Finding("", f"{path} not found: IMPL must be the folder with layers.py and optimizer.py",
                           f"{path} 가 없습니다: IMPL은 layers.py와 optimizer.py가 있는 폴더여야 합니다")
        except Exception as exc:  # a student's file: any error at all is possible
            return Finding("", f"{path} does not load ({type(exc).__name__}: {exc}): run make test",
                           f"{path} 를 불러오지 못했습니다 ({type(exc).__name__}): make test 를 실행해 보세요")
        modules.append(module)
    return tuple(modules)


class _Failures:
    """A pytest plugin that notes the test files with a failing test."""

    def __init__(self):
        self.files, self.ran = set(), 0

    def pytest_runtest_logreport(self, report):
        self.ran += report.when == "call"
        if report.failed:
            self.files.add(Path(report.nodeid.split("::")[0]).name)


def quick_checks(folder, tests):
    """[Finding] for each class whose public tests fail (the kata's tests/ on folder); [] when
    they all pass, None when the tests could not run at all."""
    try:
        import pytest
    except ImportError:
        return None
    plugin = _Failures()
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        pytest.main([str(tests), "-q", "--no-header", "--tb=no", f"--impl={folder}"],
                    plugins=[plugin])
    for name in ("layers", "optimizer"):   # the tests import these names: free them again
        sys.modules.pop(name, None)
    if not plugin.ran:
        return None
    return [Finding(cls, f"{cls} fails its public tests: fix it first (make test CLASS={cls})",
                    f"{cls}: 공개 테스트를 통과하지 못합니다. 먼저 고치세요 (make test CLASS={cls})")
            for cls in CLASSES if f"test_{cls.lower()}.py" in plugin.files]


def check_layers(layers):
    """[Finding] for each layer class the model cannot build or gather params/grads from."""
    findings = []
    for cls, args in (("Affine", (np.zeros((2, 3)), np.zeros(3))), ("Sigmoid", ())):
        try:
            layer = getattr(layers, cls)(*args)
        except Exception as exc:
            findings.append(blame_exception(exc, Path(layers.__file__).parent, cls))
            continue
        for attr in ("params", "grads"):
            if not isinstance(getattr(layer, attr, None), (list, tuple)):
                findings.append(Finding(cls, f"with your {cls} in the network, {cls}.{attr} cannot be "
                                        "gathered: it must be a list (empty when there are no parameters)",
                                        f"{cls}.{attr} 를 모을 수 없습니다: 리스트여야 합니다 (매개변수가 없으면 빈 리스트)"))
                break
        else:
            if len(layer.params) != len(layer.grads) or any(
                    np.shape(g) != np.shape(p) for p, g in zip(layer.params, layer.grads)):
                findings.append(Finding(cls, f"{cls}.grads must hold one array per parameter, of the same "
                                        f"shape: params {[np.shape(p) for p in layer.params]}, grads "
                                        f"{[np.shape(g) for g in layer.grads]}",
                                        f"{cls}.grads에는 매개변수마다 같은 모양의 배열이 하나씩 있어야 합니다"))
    return findings


def first_step(model, optimizer, x, t):
    """[Finding]: one forward, backward and update, watched from the model's side."""
    findings = []
    before = [p.copy() for p in model.params]
    model.forward(x, t)
    model.backward()
    gathered = iter(model.grads)
    for layer in model.layers:
        cls = type(layer).__name__
        for i, grad in enumerate(layer.grads):
            kept = next(gathered)
            if kept is not grad:
                findings.append(Finding(cls, f"with your {cls} in the network, its gradients never reach "
                                        f"the optimizer: backward put a new array in {cls}.grads[{i}]; "
                                        f"write into the one that is there: {cls}.grads[{i}][...] = ...",
                                        f"{cls}.backward가 grads[{i}]에 새 배열을 넣어 기울기가 옵티마이저에 "
                                        f"전달되지 않습니다: {cls}.grads[{i}][...] = ... 로 쓰세요"))
        for i, param in enumerate(layer.params):
            if param is not model.params[_index(model, layer, i)]:
                findings.append(Finding(cls, f"{cls} put a new array in {cls}.params[{i}]: the model and "
                                        "the optimizer still hold the old one; never replace params",
                                        f"{cls}가 params[{i}]에 새 배열을 넣었습니다: 모델과 옵티마이저는 "
                                        "예전 배열을 들고 있습니다. params를 바꿔 넣지 마세요"))
    if findings:
        return findings
    if not all(np.all(np.isfinite(g)) for g in model.grads):
        return [blame_nonfinite(model, x, t)
                or Finding("", "the gradients became inf or NaN", "기울기가 inf 또는 NaN이 되었습니다")]
    used = [p for layer in model.layers for p in layer.params]   # the arrays the layers compute with
    grads = [g.copy() for g in model.grads]
    optimizer.update(model.params, model.grads)
    if any(a is not b for a, b in zip(model.params, used)):
        findings.append(Finding("SGD", "with your SGD the layers never see the new weights: update put new "
                                "arrays into the params list (params[i] = ...); change the arrays "
                                "themselves: params[i] -= ...",
                                "SGD.update가 params 리스트에 새 배열을 넣어 계층은 새 가중치를 보지 못합니다: "
                                "배열 자체를 바꾸세요 (params[i] -= ...)"))
    elif not any(not np.array_equal(b, p) for b, p in zip(before, used)):
        findings.append(Finding("SGD", "with your SGD the network's weights never change",
                                "SGD를 쓰면 신경망의 가중치가 전혀 바뀌지 않습니다"))
    if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(grads, model.grads)):
        findings.append(Finding("SGD", "your SGD.update changed the gradients: leave grads alone",
                                "SGD.update가 기울기(grads)를 바꿨습니다: grads는 그대로 두세요"))
    return findings


def _index(model, layer, i):
    """Where layer.params[i] sits in the model's gathered list."""
    start = 0
    for other in model.layers:
        if other is layer:
            return start + i
        start += len(other.params)
    raise ValueError("layer not in model")


def _is_student_frame(frame, folder):
    """Is this frame the student's code: a file of `folder`, or (folder None: the classes
    were defined in a notebook) a method of one of the four classes?"""
    if folder is not None:
        return Path(frame.f_code.co_filename).resolve().parent == folder
    return type(frame.f_locals.get("self")).__name__ in CLASSES


def blame_exception(exc, folder, cls=""):
    """Finding for an exception raised in the student's code: the class whose method raised
    (cls when the traceback does not say). folder: where layers.py lives, None for a notebook."""
    folder = Path(folder).resolve() if folder is not None else None
    where = f"{cls}.__init__" if cls else ""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if _is_student_frame(frame, folder):
            owner = frame.f_locals.get("self")
            cls = type(owner).__name__ if owner is not None else cls
            where = f"{cls}.{frame.f_code.co_name}" if owner is not None else frame.f_code.co_name
        tb = tb.tb_next
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, NotImplementedError) and where:
        return Finding(cls, f"{where} is not implemented yet: fill it in first (make test CLASS={cls})",
                       f"{where}를 아직 구현하지 않았습니다: 먼저 채우세요 (make test CLASS={cls})")
    if not where:
        return Finding("", f"training stopped: {what}", f"학습이 멈췄습니다: {what}")
    return Finding(cls, f"training stopped in {where}: {what}. Look at {cls} (make test CLASS={cls})",
                   f"{where}에서 학습이 멈췄습니다: {what}. {cls}를 확인하세요 (make test CLASS={cls})")


def blame_nonfinite(model, x, t):
    """Finding for the class that first produces inf or NaN, forward then backward; None if none."""
    with np.errstate(all="ignore"):
        out = x
        for layer in model.layers:
            out = layer.forward(out)
            if not np.all(np.isfinite(out)):
                return _nan(type(layer).__name__, "forward")
        model.loss_layer.forward(out, t)
        dout = model.loss_layer.backward()
        for layer in reversed(model.layers):
            dout = layer.backward(dout)
            if not (np.all(np.isfinite(dout)) and all(np.all(np.isfinite(g)) for g in layer.grads)):
                return _nan(type(layer).__name__, "backward")
        if not all(np.all(np.isfinite(p)) for p in model.params):
            return _nan("SGD", "update")
    return None


def _nan(cls, method):
    return Finding(cls, f"the loss became NaN: {cls}.{method} is the first to give inf or NaN "
                   f"(make test CLASS={cls})",
                   f"손실이 NaN이 되었습니다: {cls}.{method}에서 처음으로 inf 또는 NaN이 나옵니다 "
                   f"(make test CLASS={cls})")
