"""The nbgrader course for the kata (instructor side only); loop.py lists its stages.

Run nbgrader with this folder as the working directory; its nbgrader_config.py makes this
folder the course root and sets the autograde pipeline (trusted.py around kernel.py).
The assignment notebook is generated:

    python -m grading.course.build_assignment          # write source/backprop/backprop.ipynb
    python -m grading.course.build_assignment --check  # fail if it is out of date
    python -m grading.course.leakscan                  # after generate_assignment: check release/
"""
