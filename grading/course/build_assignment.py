"""Write the nbgrader source notebook of the kata from the reference solutions.

    python -m grading.course.build_assignment           # (re)write the notebook
    python -m grading.course.build_assignment --check   # exit 1 if it is missing or stale

Output: grading/course/source/backprop/backprop.ipynb. A collapsed, read-only helper
cell holds the public suite's check modules (tests/kata_*.py, gradcheck.py). For each
class: a markdown explanation, a solution cell (the class copied from solutions/, with
its BEGIN/END SOLUTION markers: nbgrader's ClearSolutions turns those regions into
stubs), and one autograded test cell: it prints the class's visible checks (and fails
them under `nbgrader validate`), and its hidden part asks `python -m grading nbcell
CLASS` for the score. A last cell sums up every class, as `make test` does.
"""
import argparse
import difflib
import re
import sys
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parent
REPO = COURSE.parent.parent
ASSIGNMENT = "backprop"
NOTEBOOK = COURSE / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

POINTS = 25.0                 # per class; four classes -> 100
SUBPROCESS_TIMEOUT = 25       # seconds; below nbgrader's per-cell Execute.timeout (30)
# Seconds one call into student code may take when `nbcell` grades (its --timeout). The
# first test cell of a notebook grades all four classes (the others read the result
# from the nbcell cache), so even four endless loops stay far below SUBPROCESS_TIMEOUT.
NBCELL_TIMEOUT = 3
# (solution file, class) in notebook order
CLASSES = [("layers.py", "MatMul"), ("layers.py", "Sigmoid"),
           ("layers.py", "Affine"), ("optimizer.py", "SGD")]
SCHEMA_VERSION = 3


# --- reading the solutions -------------------------------------------------------

def class_text(source, name):
    """The top-level `class name` block of a module (without decorators or comments above
    it, nor trailing blank lines)."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(rf"class\s+{re.escape(name)}\b", line)]
    if len(starts) != 1:
        raise ValueError(f"expected one top-level `class {name}`, found {len(starts)}")
    start, end = starts[0], len(lines)
    for j in range(start + 1, len(lines)):
        line = lines[j]
        if line.strip() and not line[0].isspace() and not line.lstrip().startswith("#"):
            end = j
            break
    block = lines[start:end]
    while block and not block[-1].strip():
        block.pop()
    return "\n".join(block)


def class_block(source, name):
    """`class_text`, checked to hold a solution region."""
    text = class_text(source, name)
    if "### BEGIN SOLUTION" not in text or "### END SOLUTION" not in text:
        raise ValueError(f"class {name} has no ### BEGIN SOLUTION / ### END SOLUTION region")
    return text


def read_solutions(solutions_dir=None):
    """{class name: class text} read from solutions/layers.py and solutions/optimizer.py."""
    folder = Path(solutions_dir) if solutions_dir else REPO / "solutions"
    texts = {}
    for filename, name in CLASSES:
        texts[name] = class_block((folder / filename).read_text(encoding="utf-8"), name)
    return texts


# --- the hidden test snippet ---------------------------------------------------------

def hidden_test_code(class_name, points=POINTS, timeout=SUBPROCESS_TIMEOUT,
                     nbcell_timeout=NBCELL_TIMEOUT):
    """The code between BEGIN/END HIDDEN TESTS for one class.

    It runs `python -I -m grading nbcell CLASS` in the kernel's working directory
    (the submission folder), prints the grader's feedback text to stdout, and
    leaves a plain float in [0, points] as the cell's value. Any failure prints a
    message and scores 0.0. Standard library only; nothing is written to stderr. It leaves
    the score in _hidden_score, which the cell's last line makes its value.

    `-I` keeps the submission folder off the grader's sys.path (a submitted json.py
    or grading/ would be imported otherwise) and ignores PYTHON* variables; the few
    variables passed on leave out what a notebook could set to weaken the grader
    (KATA_SANDBOX=off, say). A kernel can still fake the cell outright (patch
    subprocess); `make grades` regrades outside it and flags that.
    """
    return f'''import json as _json, os as _os, subprocess as _subprocess, sys as _sys
_score = 0.0
try:
    _run = _subprocess.run(
        [_sys.executable, "-I", "-m", "grading", "nbcell", "{class_name}",
         "--timeout", "{nbcell_timeout:g}"],
        cwd=_os.getcwd(), capture_output=True, text=True, timeout={timeout},
        stdin=_subprocess.DEVNULL,
        env={{_k: _v for _k, _v in _os.environ.items()
             if _k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "KATA_NBCELL_CACHE")}})
    _lines = [_l for _l in _run.stdout.splitlines() if _l.lstrip().startswith("{{")]
    _verdict = _json.loads(_lines[-1]) if _lines else None
    if not isinstance(_verdict, dict) or _verdict.get("class") != "{class_name}":
        print("{class_name}: the grader gave no result (exit code %s); this part scores 0."
              % _run.returncode)
    else:
        print(str(_verdict.get("output", "")))
        _score = float(_verdict.get("score", 0.0))
except Exception as _exc:
    print("{class_name}: the grader could not run (%s); this part scores 0." % type(_exc).__name__)
if not _score >= 0.0:  # NaN; nbgrader would count it as full marks
    _score = 0.0
_hidden_score = float(min(max(_score, 0.0), {float(points)!r}))'''


def test_cell_source(class_name):
    """The class's check cell. Run by hand (Run All) it prints the class's state; under
    `nbgrader validate` a class that fails raises with the same text, so Validate fails
    and says why. Under autograde the hidden tests set _hidden_score, which is the cell's
    value (its score) and the visible check is not called at all."""
    return (f"# 읽기 전용 칸: {class_name} 검사. 채점 때는 숨은 테스트도 이 칸에서 실행됩니다.\n"
            f"# Read-only cell: checks {class_name}. At grading time the hidden tests run here too.\n"
            "_hidden_score = None\n"
            "### BEGIN HIDDEN TESTS\n"
            f"{hidden_test_code(class_name)}\n"
            "### END HIDDEN TESTS\n"
            f"{check_call(class_name)} if _hidden_score is None else _hidden_score")


# --- the checks: the public suite's own modules, embedded ------------------------------

# The notebook checks each class with the very code `make test` runs (tests/kata_*.py and
# gradcheck.py): the helper cell holds their sources and makes modules of them, so both
# speak with one voice, and `--check` (selftest) notices when the notebook falls behind.
CHECK_MODULES = ["gradcheck", "kata_guard", "kata_checks", "kata_model", "kata_layers",
                 "kata_sgd", "kata_progress"]
TESTS = REPO / "tests"


def helpers_source(tests_dir=TESTS):
    """The helper cell: each module of CHECK_MODULES made from its embedded source."""
    parts = [
        "# 읽기 전용 칸 (접혀 있음): 검사 코드입니다. 실행만 하면 됩니다. "
        "/ Read-only cell (collapsed): the checks' code, the same as `make test`'s tests/. "
        "Run it; no need to read it.",
        "import sys as _sys, types as _types",
        "",
        "",
        "def _kata_module(name, source):",
        "    module = _types.ModuleType(name)",
        "    module.__file__ = name + \".py\"",
        "    _sys.modules[name] = module",
        "    exec(compile(source, module.__file__, \"exec\"), module.__dict__)",
        "    return module",
        "",
    ]
    for name in CHECK_MODULES:
        text = (Path(tests_dir) / f"{name}.py").read_text(encoding="utf-8").rstrip("\n")
        if "\'\'\'" in text or text.endswith("\\"):
            raise ValueError(f"tests/{name}.py cannot be embedded in a raw \'\'\' string")
        target = "kata = " if name == CHECK_MODULES[-1] else ""
        parts.append(f"{target}_kata_module({name!r}, r\'\'\'{text}\n\'\'\')")
    return "\n".join(parts)


def check_call(class_name):
    return f'kata.check("{class_name}", globals())'


SUMMARY_SOURCE = ("# 읽기 전용 칸: 모든 클래스의 상태와 다음 할 일. / Read-only cell: every class's "
                  "state, and what to do next.\nkata.summary(globals())")


# --- the teaching text ---------------------------------------------------------------

INTRO = """\
# 오차역전파 실습: MatMul, Sigmoid, Affine, SGD / Backpropagation kata

*밑바닥부터 시작하는 딥러닝 2*, 1.3절 / *Deep Learning from Scratch 2*, section 1.3.

**KO.** 이 노트북에서는 신경망의 계층 세 개(MatMul, Sigmoid, Affine)와 옵티마이저
하나(SGD)를 직접 구현합니다. `# YOUR CODE HERE` 와 `raise NotImplementedError()`
를 지우고 코드를 쓰세요. 각 클래스 바로 아래의 *검사 칸*이 그 클래스를 검사해 결과를
보여 주고, 맨 끝 칸이 모든 클래스의 상태와 다음 할 일을 보여 줍니다 (`make test`와 같은
검사, 같은 메시지). 채점은 숨은 테스트로 하며 클래스마다 25점입니다. 도구 모음의
**Validate** 버튼은 검사를 통과하지 못한 클래스를 알려 줍니다.

**EN.** You will write three layers (MatMul, Sigmoid, Affine) and one optimizer
(SGD). Replace each `# YOUR CODE HERE` / `raise NotImplementedError()` with your
code. The *check cell* right below each class checks it and prints what it found; the
last cell shows every class's state and what to do next (the same checks and messages
as `make test`). The grade comes from hidden tests: 25 points per class. The
**Validate** button names the classes that do not pass their checks yet.

Cells marked *read-only* in their first line cannot be edited. / 첫 줄에 *읽기 전용*이라고
쓰인 칸은 수정할 수 없습니다.

Every layer shares one interface / 모든 계층의 공통 인터페이스:
`params` (list of parameter arrays), `grads` (gradients, same shapes),
`forward(x)`, `backward(dout)`."""

IMPORTS_MD = """\
먼저 NumPy와 검사 코드를 불러옵니다 (둘 다 읽기 전용, 검사 코드 칸은 접혀 있습니다). 노트북을 다시
열면 **Kernel → Restart Kernel and Run All Cells…** 로 처음부터 실행하세요.

First, NumPy and the checks' code (both read-only; the checks' cell is collapsed). Whenever
you reopen the notebook, run it from the top: **Kernel → Restart Kernel and Run All Cells…**"""

IMPORTS_SOURCE = "# 읽기 전용 칸 / Read-only cell\nimport numpy as np"

GRAPH_MD = """\
## 계산 그래프 / The computational graph

**KO.** 계산 그래프는 계산을 노드(연산)와 화살표(값의 흐름)로 그린 것입니다.
순전파(forward)에서는 왼쪽에서 오른쪽으로 값을 계산하고, 역전파(backward)에서는
오른쪽에서 왼쪽으로 *손실 L을 각 값으로 미분한 값*을 전달합니다. 각 노드는 자기
출력에 대한 기울기 `dout` = ∂L/∂out 을 받아 연쇄 법칙으로 입력에 대한 기울기
∂L/∂x = ∂L/∂out · ∂out/∂x 를 계산해 앞쪽으로 넘깁니다. 노드는 전체 그래프를 알
필요가 없고, 자기 연산의 국소적인 미분만 알면 됩니다.

몇 가지 기본 노드: 덧셈 노드는 기울기를 그대로 나눠 주고, 곱셈 노드는 입력을
서로 바꿔 곱해 주며, 분기(repeat) 노드는 역전파에서 들어온 기울기를 **더합니다**.
같은 값을 여러 번 쓰는 것(예: 편향 b를 배치의 모든 행에 더하기)은 역전파에서
합(sum)이 됩니다.

**EN.** A computational graph draws a computation as nodes (operations) joined by
arrows (values). The forward pass computes values left to right; the backward pass
sends *derivatives of the loss L* right to left. Each node receives `dout` =
∂L/∂out and, by the chain rule, hands back ∂L/∂x = ∂L/∂out · ∂out/∂x. A node only
needs the local derivative of its own operation, never the whole graph.

A few basic nodes: an addition passes the gradient through unchanged, a
multiplication multiplies it by the *other* input, and a copy (repeat) node **sums**
the gradients coming back. Using one value several times - such as adding the bias
b to every row of a batch - becomes a sum in the backward pass.

Shapes are the best guide: a gradient always has the shape of the value it belongs
to. / 기울기는 항상 해당 값과 같은 모양입니다. 모양을 맞추는 것이 가장 좋은 길잡이입니다."""

CLASS_MD = {
    "MatMul": """\
## MatMul 계층 / The MatMul layer

**KO.** `out = x @ W` 입니다. x는 (N, D), W는 (D, H), out은 (N, H) 모양입니다.
역전파에서는 `dout` (N, H)을 받아 `dx` (N, D)와 `dW` (D, H)를 구합니다. 두 값
모두 dout과 다른 쪽 입력(W 또는 x)의 행렬 곱이고, 한쪽을 전치해야 모양이 맞습니다.
순전파의 x는 역전파에서 필요하므로 저장해 두세요.

**EN.** `out = x @ W` with x: (N, D), W: (D, H), out: (N, H). Backward receives
`dout` (N, H) and returns `dx` (N, D), and writes `dW` (D, H). Each is a matrix
product of dout with the *other* input, one factor transposed; the shapes tell you
which. Forward must keep x, because backward needs it.

`grads[0][...] = dW` overwrites the existing array. Writing `grads[0] = dW` would
swap in a new array that the optimizer never sees. / `grads[0] = dW` 처럼 새 배열로
바꾸면 옵티마이저가 그 배열을 보지 못합니다.""",
    "Sigmoid": """\
## Sigmoid 계층 / The Sigmoid layer

**KO.** 시그모이드 y = 1 / (1 + exp(-x)) 는 원소별로 적용됩니다. 미분은 출력으로
깔끔하게 쓸 수 있습니다: dy/dx = y (1 - y). 그래서 순전파에서 **출력** y를 저장해
두면 역전파는 dout에 이 국소 미분을 원소별로 곱하기만 하면 됩니다. 매개변수가 없으므로
params와 grads는 빈 리스트입니다.

**EN.** The sigmoid y = 1 / (1 + exp(-x)) acts element by element. Its derivative is
neatest in terms of the output: dy/dx = y (1 - y). So forward keeps the **output** y,
and backward multiplies dout by that local derivative. No parameters: params and
grads stay empty lists.

The checks compare your backward with a numerical derivative of your forward (a small
central difference), the usual way to test a backward pass. / 검사 칸은 역전파 결과를
순전파의 수치 미분(중심 차분)과 비교합니다.""",
    "Affine": """\
## Affine 계층 / The Affine layer

**KO.** 완전연결 계층: `out = x @ W + b`. b의 모양은 (H,)이고 브로드캐스트로 배치의
모든 행(N개)에 더해집니다. 역전파에서 dx와 dW는 MatMul과 같습니다. b는 N번 복사되어
쓰였으므로(분기 노드) db는 dout을 배치 축(axis=0)으로 **더한** 값입니다. 평균이
아닙니다.

**EN.** The fully connected layer: `out = x @ W + b`, with b of shape (H,) broadcast
over the N rows of the batch. In backward, dx and dW are exactly as in MatMul. The
bias was copied to every row (a repeat node), so db **sums** dout over the batch axis
(axis=0) - a sum, not a mean. Write both gradients in place: `grads[0][...] = dW`,
`grads[1][...] = db`.""",
    "SGD": """\
## 학습의 네 단계와 SGD / The four steps of training, and SGD

**KO.** 신경망 학습은 다음 네 단계를 반복합니다.

1. **미니배치**: 훈련 데이터에서 무작위로 일부를 고릅니다.
2. **기울기 계산**: 순전파로 손실을 구하고, 역전파로 각 매개변수에 대한 손실의 기울기를 구합니다.
3. **매개변수 갱신**: 기울기의 반대 방향으로 매개변수를 조금 움직입니다.
4. **반복**: 1-3단계를 필요한 만큼 되풀이합니다.

3단계를 맡는 것이 옵티마이저입니다. 가장 단순한 확률적 경사 하강법(SGD)은
`W ← W - lr · ∂L/∂W` 입니다. lr은 학습률입니다. 모델은 모든 계층의 params와 grads를
리스트로 모아 `update(params, grads)`에 넘깁니다. 계층들이 같은 배열을 들고 있으므로
반드시 **제자리에서** (`params[i] -= ...`) 바꿔야 합니다.

**EN.** Training a network repeats four steps:

1. **Mini-batch**: pick a random part of the training data.
2. **Gradients**: forward to get the loss, backward to get the loss's gradient for every parameter.
3. **Update**: move every parameter a little against its gradient.
4. **Repeat** steps 1-3 as long as needed.

Step 3 is the optimizer's job. The simplest, stochastic gradient descent (SGD), does
`W ← W - lr · ∂L/∂W` with learning rate lr. A model gathers the params and grads of
all its layers into two lists and calls `update(params, grads)`. The layers hold the
very same arrays, so the update must be **in place** (`params[i] -= ...`); `grads`
must stay unchanged.""",
}

OUTRO = """\
## 마무리 / Wrapping up

**KO.** 아래 칸은 네 클래스의 상태와 다음 할 일을 보여 줍니다 (`make test`의 요약과 같습니다).
모두 ✓ 이면 노트북을 저장하고 제출하세요. 채점은 제출한 노트북을 처음부터 다시 실행하므로,
**Kernel → Restart Kernel and Run All Cells…** 로 위에서부터 오류 없이 실행되는지 확인하고,
도구 모음의 **Validate** 로도 확인하세요.

**EN.** The cell below shows the state of all four classes and what to do next (as `make
test`'s summary does). When all four show ✓, save and submit. Grading re-runs the
submitted notebook from the top: check that **Kernel → Restart Kernel and Run All
Cells…** runs cleanly, and press **Validate** in the toolbar."""


# --- the notebook ----------------------------------------------------------------------

def _markdown(cell_id, text):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = cell_id
    return cell


def _code(cell_id, text, *, grade_id=None, solution=False, grade=False, locked=False,
          points=None, readonly=False):
    cell = nbformat.v4.new_code_cell(text)
    cell.id = cell_id
    if grade_id is not None:
        meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
                "schema_version": SCHEMA_VERSION, "solution": solution}
        if grade:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    if readonly:
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
    return cell


def _not_graded(cell):
    # The grader skips these cells (they only call the student's code, see
    # grading/submissions.py): an endless loop must not cost it a second per load.
    cell.metadata["kata"] = {"role": "visible-checks"}
    return cell


def build_notebook(solutions, tests_dir=TESTS):
    """The source notebook as a NotebookNode; `solutions` maps class name -> class text."""
    helpers = _not_graded(_code("check-helpers", helpers_source(tests_dir), readonly=True))
    helpers.metadata["jupyter"] = {"source_hidden": True}
    cells = [_markdown("intro", INTRO),
             _markdown("imports-md", IMPORTS_MD),
             _code("imports", IMPORTS_SOURCE, grade_id="imports", locked=True, readonly=True),
             helpers,
             _markdown("graph-md", GRAPH_MD)]
    for _, name in CLASSES:
        key = name.lower()
        cells.append(_markdown(f"{key}-md", CLASS_MD[name]))
        cells.append(_code(f"{key}-solution", solutions[name], grade_id=f"{name}_solution",
                           solution=True))
        cells.append(_code(f"{key}-tests", test_cell_source(name), grade_id=f"{name}_tests",
                           grade=True, locked=True, points=POINTS, readonly=True))
    cells.append(_markdown("outro", OUTRO))
    cells.append(_not_graded(_code("summary", SUMMARY_SOURCE, readonly=True)))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)",
                                 "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def render(solutions_dir=None, tests_dir=TESTS):
    text = nbformat.writes(build_notebook(read_solutions(solutions_dir), tests_dir))
    return text if text.endswith("\n") else text + "\n"


def stray_files():
    """Files next to the notebook in source/backprop: they would be released too."""
    folder = NOTEBOOK.parent
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and p != NOTEBOOK)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.course.build_assignment",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the notebook is missing or out of date")
    parser.add_argument("--solutions", help="folder with layers.py and optimizer.py "
                                            "(default: solutions/ of the repository)")
    args = parser.parse_args(argv)
    try:
        text = render(args.solutions)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problems = [f"stray file in {NOTEBOOK.parent}: {f}" for f in stray_files()]
    if args.check:
        old = NOTEBOOK.read_text(encoding="utf-8") if NOTEBOOK.exists() else None
        if old is None:
            problems.append(f"{NOTEBOOK} does not exist: run python -m grading.course.build_assignment")
        elif old != text:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), "on disk", "generated",
                                        lineterm="", n=1)
            problems.append(f"{NOTEBOOK} is out of date:\n" + "\n".join(list(diff)[:40]))
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    NOTEBOOK.parent.mkdir(parents=True, exist_ok=True)
    NOTEBOOK.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK}")
    for p in problems:
        print("warning: " + p, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
