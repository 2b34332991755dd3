"""The public suite on edited variants of the reference: the messages students see."""
