# tries: nothing (the untouched stub SGD, beside the hostile layers.py)
"""Optimizer: stochastic gradient descent (SGD).

Deep Learning from Scratch 2, section 1.3.

An optimizer gets the two lists a model gathered from its layers,
``params`` and ``grads`` (same length, same shapes item by item), and
moves every parameter a small step against its gradient.

옵티마이저는 모델이 계층에서 모은 params와 grads 리스트를 받아 각
매개변수를 기울기의 반대 방향으로 조금 이동시킵니다.
"""


class SGD:
    """Plain gradient descent: W <- W - lr * dW for every parameter."""

    def __init__(self, lr=0.01):
        self.lr = lr  # learning rate

    def update(self, params, grads):
        """Move each params[i] by -lr * grads[i], in place.

        params, grads: lists of arrays; params[i] and grads[i] have the
        same shape. Returns nothing.

        EN: Change the arrays themselves (params[i] -= ...), do not put new
            arrays in the list (params[i] = params[i] - ...): the layers
            hold the very same arrays, and only an in-place update reaches
            them. Leave grads unchanged.
        KO: 배열 자체를 바꾸세요 (params[i] -= ...). params[i] = params[i] - ...
            처럼 리스트에 새 배열을 넣으면 같은 배열을 들고 있는 계층에는
            반영되지 않습니다. grads는 바꾸지 마세요.
        """
        raise NotImplementedError("SGD.update is not implemented yet: move each params[i] by -lr * grads[i], in place.")
