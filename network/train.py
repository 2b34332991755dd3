"""`make train`: the book's two-layer network, built from your classes, trained on the spiral data.

    python -m network.train [--impl exercises] [--epochs 300] [--out training.png]

The book's settings (section 1.4): hidden size 10, learning rate 1.0, batch 30, 300 epochs.
It prints the loss as it goes and the final accuracy, and writes a picture of the loss curve
and the decision regions. When a class keeps the network from learning, it says which one.
Exit status: 0 trained, 1 a class needs fixing, 2 a usage mistake.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from network import diagnose, spiral
from network.two_layer_net import TwoLayerNet

BOOK = dict(epochs=300, hidden=10, lr=1.0, batch=30, seed=1984)
USED = ("Affine", "Sigmoid", "SGD")          # the classes inside this network
TESTS = Path(__file__).resolve().parent.parent / "tests"


def say(en, ko=None):
    print(en + (f"\n{ko}" if ko else ""), flush=True)


def build(layers, optimizer, hidden, lr, seed):
    rng = np.random.default_rng(seed)
    return TwoLayerNet(2, hidden, 3, layers, rng), optimizer.SGD(lr=lr)


def train(model, optimizer, x, t, epochs, batch, seed, report=None):
    """The book's loop: shuffle each epoch, mini-batches, forward, backward, update.
    Returns the mean loss of every epoch; report(epoch, loss) after each one."""
    rng = np.random.default_rng(seed + 1)
    losses = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        total, count = 0.0, 0
        for start in range(0, len(x) - batch + 1, batch):
            rows = order[start:start + batch]
            total += model.forward(x[rows], t[rows])
            model.backward()
            optimizer.update(model.params, model.grads)
            count += 1
        losses.append(total / count)
        if report:
            report(epoch, losses[-1])
        if not np.isfinite(losses[-1]):
            break
    return losses


def accuracy(model, x, t):
    return float((model.predict(x).argmax(axis=1) == t.argmax(axis=1)).mean())


def run(folder, epochs, out, hidden, lr, batch, seed, checks=True):
    """The whole `make train`; returns (exit status, accuracy or None)."""
    modules = diagnose.load_modules(folder)
    if isinstance(modules, diagnose.Finding):
        say(f"error: {modules.en}", f"오류: {modules.ko}")
        return 1, None
    layers, optimizer_module = modules
    findings = (diagnose.quick_checks(folder, TESTS) or []) if checks and TESTS.is_dir() else []
    return run_modules(layers, optimizer_module, epochs, out, hidden, lr, batch, seed,
                       findings=findings, folder=folder)


def run_modules(layers, optimizer_module, epochs, out, hidden=BOOK["hidden"], lr=BOOK["lr"],
                batch=BOOK["batch"], seed=BOOK["seed"], findings=(), folder=None):
    """Train with the classes of `layers` (Affine, Sigmoid) and `optimizer_module` (SGD):
    modules, or any objects holding them (the notebook passes its own). findings: what the
    public checks found already; folder: where layers.py lives (None: a notebook).
    Returns (exit status, accuracy or None)."""
    findings = list(findings)
    for f in findings:
        if f.cls not in USED:
            say(f"note: {f.cls} fails its public tests (make test CLASS={f.cls}); this network does "
                f"not use {f.cls}", f"참고: {f.cls}: 공개 테스트를 통과하지 못합니다 "
                f"(make test CLASS={f.cls}). 이 신경망은 {f.cls}를 쓰지 않습니다")
    findings = [f for f in findings if f.cls in USED] + diagnose.check_layers(layers)
    x, t = spiral.load_data(seed)
    if not findings:
        try:
            probe, probe_optimizer = build(layers, optimizer_module, hidden, lr, seed)
            findings = diagnose.first_step(probe, probe_optimizer, x[:batch], t[:batch])
        except Exception as exc:
            findings = [diagnose.blame_exception(exc, folder)]
    if findings:
        return _stop(findings), None

    model, optimizer = build(layers, optimizer_module, hidden, lr, seed)
    every = max(1, epochs // 10)
    say(f"training TwoLayerNet (2-{hidden}-3) with your Affine, Sigmoid and SGD on {len(x)} spiral "
        f"points: {epochs} epochs, batch {batch}, learning rate {lr}")
    try:
        losses = train(model, optimizer, x, t, epochs, batch, seed,
                       report=lambda e, loss: e % every == 0 and say(f"  epoch {e:4d}/{epochs}  loss {loss:.4f}"))
    except Exception as exc:
        return _stop([diagnose.blame_exception(exc, folder)]), None
    if not np.isfinite(losses[-1]):
        found = diagnose.blame_nonfinite(model, x, t)
        return _stop([found or diagnose.Finding("", "the loss became NaN", "손실이 NaN이 되었습니다")]), None
    acc = accuracy(model, x, t)
    say(f"final accuracy: {acc:.3f} ({round(acc * len(x))} of {len(x)} points)",
        f"최종 정확도: {acc:.3f} ({len(x)}개 중 {round(acc * len(x))}개)")
    status = 0
    if len(losses) > 1 and losses[-1] >= losses[0]:
        say("warning: the loss did not go down: your classes pass their checks, yet the network did "
            "not learn; compare Affine.backward and SGD.update with their docstrings",
            "경고: 손실이 줄지 않았습니다. 클래스들이 검사는 통과하지만 신경망이 학습하지 못했습니다. "
            "Affine.backward와 SGD.update를 docstring과 비교해 보세요")
        status = 1
    try:
        from network import picture
        picture.save(out, losses, picture.region_grid(model.predict, x), x, t, acc)
    except ImportError:
        say("note: matplotlib is not installed, so no picture: `make train` installs it "
            "(in Jupyter: %pip install matplotlib)",
            "참고: matplotlib이 없어 그림을 만들지 않았습니다: `make train` 이 설치합니다 "
            "(Jupyter에서는 %pip install matplotlib)")
        return status, acc
    say(f"wrote {out}: the loss curve and the decision regions over the data",
        f"{out} 에 저장했습니다: 손실 곡선과 데이터 위의 결정 영역")
    return status, acc


def _stop(findings):
    findings = list({str(f): f for f in findings}.values())   # two Affine layers, one message
    say("The network cannot train yet: look at the class named below.",
        "아직 신경망을 학습할 수 없습니다: 아래에 적힌 클래스를 확인하세요.")
    for f in findings:
        say(f"  - {f.en}", f"    {f.ko}")
    return 1


def main(argv=None):
    p = argparse.ArgumentParser(prog="make train", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default="exercises", help="folder with your layers.py and optimizer.py")
    p.add_argument("--epochs", type=int, default=BOOK["epochs"])
    p.add_argument("--out", default="training.png", help="the picture to write (PNG)")
    p.add_argument("--hidden", type=int, default=BOOK["hidden"])
    p.add_argument("--lr", type=float, default=BOOK["lr"])
    p.add_argument("--batch", type=int, default=BOOK["batch"])
    p.add_argument("--seed", type=int, default=BOOK["seed"])
    p.add_argument("--no-checks", dest="checks", action="store_false", help="skip the public tests")
    args = p.parse_args(argv)
    folder = Path(args.impl)
    if not folder.is_dir():
        say(f"error: --impl {folder}: not a folder; give the folder with layers.py and optimizer.py",
            f"오류: --impl {folder}: 폴더가 아닙니다. layers.py와 optimizer.py가 있는 폴더를 주세요")
        return 2
    if args.epochs < 1 or args.batch < 1:
        say("error: --epochs and --batch must be at least 1", "오류: --epochs와 --batch는 1 이상이어야 합니다")
        return 2
    status, _ = run(folder.resolve(), args.epochs, args.out, args.hidden, args.lr, args.batch,
                    args.seed, args.checks)
    return status


if __name__ == "__main__":
    sys.exit(main())
