import sys

try:
    from grading.cli import main
except KeyboardInterrupt:   # Ctrl-C while Python loads the grader: nothing was done yet
    print("interrupted while starting: nothing was graded", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
