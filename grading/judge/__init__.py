"""The judge: test data, expected values, comparisons and scores. Never imports student code.

The names below are kept here, free of numpy and pytest, so that light commands (the
notebook cells' cache look-ups) can use them without paying for those imports.
"""
import zlib

CLASSES = ("MatMul", "Sigmoid", "Affine", "SGD")
# The submission file that holds each class.
FILE_OF = {"MatMul": "layers.py", "Sigmoid": "layers.py", "Affine": "layers.py",
           "SGD": "optimizer.py"}


def seed_for(name):
    """The data seed of a submission: stable across runs and machines."""
    return zlib.crc32(name.encode("utf-8"))
