"""The chapter's payoff (Deep Learning from Scratch 2, section 1.4): your four classes inside the
book's two-layer network, trained on the spiral data. Provided code, not graded.

    make train                       # = python -m network.train --impl exercises

spiral.py (the data), softmax.py (the loss layer), two_layer_net.py (the model), diagnose.py
(which class to look at when it does not learn), picture.py (loss curve and decision regions),
train.py (the run).
"""
