"""Kernel-side stand-in for the `grading` package (mounted over it inside the kernel's box).

The real grader, its hidden suites and the solutions never enter a student's kernel. The
notebook's hidden test cells still run `python -m grading nbcell CLASS`; inside the box
that finds this package, which answers with the verdict the trusted grader gave this very
notebook before its kernel started (/kata/verdicts.json). The verdicts are what the
student's feedback page shows anyway: nothing here is secret, and nothing here decides a
grade (grading/course/trusted.py writes the trusted scores into the gradebook).
"""
