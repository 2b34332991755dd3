"""The assignment notebook's teaching text (Korean and English), apart from its structure.

build_assignment.py lays the cells out; this module holds what they say: the introduction,
the computational graph, one explanation per class, the wrap-up, and the training section
(the chapter's payoff: the student's classes inside the book's network).
"""

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


TRAIN_MD = """\
## 보너스: 책의 신경망 학습하기 / Bonus: train the book's network

**KO.** 네 클래스가 모두 ✓ 이면, 책 1.4절의 `TwoLayerNet`(Affine → Sigmoid → Affine → Softmax with
Loss)을 **여러분의 클래스로** 만들어 나선형(spiral) 데이터의 세 클래스를 구분하도록 학습시켜 봅니다.
아래 두 칸은 제공 코드입니다(채점하지 않음). 손실이 줄어들고, 오른쪽 그림에 세 개의 나선형
영역이 보이면 성공입니다(정확도 약 0.9 이상). 학습이 안 되면 어느 클래스를 볼지 알려 줍니다.
그림에는 `matplotlib`이 필요합니다(없으면 정확도만 출력합니다). 채점과 Validate 때는 건너뜁니다.

**EN.** When all four classes show ✓, build the book's `TwoLayerNet` (section 1.4: Affine →
Sigmoid → Affine → Softmax with Loss) **from your own classes** and train it to tell the three
arms of the spiral data apart. The two cells below are provided code (not graded). It works
when the loss goes down and the picture on the right shows three spiral regions (accuracy about
0.9 or more); when it does not learn, it says which class to look at. The picture needs
`matplotlib` (without it, only the accuracy is printed). Grading and Validate skip these cells."""

# The provided network code, embedded like the checks (the same files as `make train` runs).
NETWORK_MODULES = ["spiral", "softmax", "two_layer_net", "diagnose", "picture", "train"]

TRAIN_SOURCE = """\
# 읽기 전용 칸 / Read-only cell: your Affine, Sigmoid and SGD in the book's network (not graded).
import os as _os
import types as _types
if _os.environ.get("NBGRADER_EXECUTION"):
    print("skipped while grading or validating / 채점·검증 중에는 건너뜁니다")
else:
    _status, _accuracy = _network_train.run_modules(
        _types.SimpleNamespace(Affine=Affine, Sigmoid=Sigmoid), _types.SimpleNamespace(SGD=SGD),
        epochs=300, out="training.png")
    if _accuracy is not None and _os.path.exists("training.png"):
        from IPython.display import Image as _Image, display as _display
        _display(_Image("training.png"))"""
