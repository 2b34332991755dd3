"""The picture of a training run: the loss curve, and the decision regions over the data.

matplotlib is imported here only (`make train` installs it on first use; `make test` never
needs it). Text in the picture is English: matplotlib's default font has no Hangul.
"""
import numpy as np

# Light colours for the regions, strong ones for the points: class c is REGIONS[c] / POINTS[c].
REGIONS = ("#fdd0a2", "#c6dbef", "#c7e9c0")
POINTS = ("#e6550d", "#3182bd", "#31a354")
MARKERS = ("o", "x", "^")
SIZE = (10.0, 4.5)    # inches, at DPI: 1000 x 450 pixels
DPI = 100


def region_grid(predict, x, step=0.01):
    """(xs, ys, classes): the predicted class on a grid covering the data with a margin.
    predict: (M, 2) points -> (M, C) scores."""
    lo, hi = x.min(axis=0) - 0.1, x.max(axis=0) + 0.1
    xs = np.arange(lo[0], hi[0], step)
    ys = np.arange(lo[1], hi[1], step)
    gx, gy = np.meshgrid(xs, ys)
    scores = predict(np.column_stack([gx.ravel(), gy.ravel()]))
    return xs, ys, scores.argmax(axis=1).reshape(gx.shape)


def save(path, losses, grid, x, t, accuracy, title="TwoLayerNet on the spiral data"):
    """Write the PNG: losses per epoch on the left, grid = region_grid(...) and the points
    x (N, 2) with one-hot labels t (N, C) on the right."""
    import matplotlib
    matplotlib.use("Agg")                 # files only: no display needed
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    xs, ys, classes = grid
    fig, (ax_loss, ax_map) = plt.subplots(1, 2, figsize=SIZE, dpi=DPI)
    ax_loss.plot(np.arange(1, len(losses) + 1), losses, color="#444444")
    ax_loss.set(xlabel="epoch", ylabel="mean loss", title="loss (softmax cross-entropy)")
    ax_loss.grid(alpha=0.3)
    ax_map.imshow(classes, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]),
                  cmap=ListedColormap(REGIONS), vmin=0, vmax=len(REGIONS) - 1,
                  interpolation="nearest", aspect="auto")
    labels = t.argmax(axis=1)
    for c in range(t.shape[1]):
        ax_map.scatter(*x[labels == c].T, s=14, c=POINTS[c], marker=MARKERS[c], label=f"class {c}")
    ax_map.set(title=f"decision regions (accuracy {accuracy:.2f})", xlabel="x1", ylabel="x2")
    ax_map.legend(loc="upper right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
