"""The student's notebook in a real JupyterLab, driven by headless Chromium (the selftest's
browser step): lab.py serves it as `nbgrader fetch_assignment` lays it out, student.py does
what a student does there."""
