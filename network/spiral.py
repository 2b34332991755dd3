"""The book's spiral data set: three classes winding around the origin, made here (no download).

Each class is an arm of points: the radius grows from 0 to 1 along the arm while the angle
turns by 4 radians, with some noise on the angle; the arms start 4 radians apart.
"""
import numpy as np


def load_data(seed=1984, points_per_class=100, classes=3):
    """x: (classes * points_per_class, 2) points; t: (same, classes) one-hot labels.

    The same seed gives the same points (a numpy Generator of its own: the global
    random state is left alone)."""
    return arms(np.random.default_rng(seed), points_per_class, classes)


def arms(rng, points_per_class, classes=3):
    """The spiral arms drawn with the numpy Generator `rng` (the grader's plug-in network
    tests draw theirs from the submission's seed): x (N, 2), one-hot t (N, classes)."""
    n = points_per_class
    rate = np.arange(n) / n                        # 0 at the centre .. almost 1 at the tip
    x = np.empty((classes * n, 2))
    t = np.zeros((classes * n, classes))
    for c in range(classes):
        theta = 4.0 * c + 4.0 * rate + rng.normal(0.0, 0.2, n)
        rows = slice(c * n, (c + 1) * n)
        x[rows, 0] = rate * np.sin(theta)
        x[rows, 1] = rate * np.cos(theta)
        t[rows, c] = 1.0
    return x, t
