"""The book's TwoLayerNet (section 1.4), built from YOUR layer classes: Affine, Sigmoid, Affine,
then softmax with cross-entropy. Provided, not an exercise.

Like the book, the model gathers every layer's params and grads once, with `+=`, and the
optimizer works on those two lists: that is why a layer must fill its grads arrays in place
and an optimizer must change the parameter arrays themselves.
"""
import numpy as np

from network.softmax import SoftmaxWithLoss


class TwoLayerNet:
    """input_size -> hidden_size (sigmoid) -> output_size scores.

    layers: the module holding your Affine and Sigmoid (layers.py); rng: a numpy Generator
    for the initial weights (0.01 * standard normal, biases zero, as in the book)."""

    def __init__(self, input_size, hidden_size, output_size, layers, rng):
        W1 = 0.01 * rng.standard_normal((input_size, hidden_size))
        b1 = np.zeros(hidden_size)
        W2 = 0.01 * rng.standard_normal((hidden_size, output_size))
        b2 = np.zeros(output_size)
        self.layers = [layers.Affine(W1, b1), layers.Sigmoid(), layers.Affine(W2, b2)]
        self.loss_layer = SoftmaxWithLoss()
        self.params, self.grads = [], []
        for layer in self.layers:
            self.params += layer.params
            self.grads += layer.grads

    def predict(self, x):
        """x: (N, input_size) -> scores: (N, output_size)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward(self, x, t):
        """The mean loss over the batch (a float); t: (N, output_size) one-hot."""
        return self.loss_layer.forward(self.predict(x), t)

    def backward(self, dout=1.0):
        """Fills every layer's grads; returns dL/dx, (N, input_size)."""
        dout = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
