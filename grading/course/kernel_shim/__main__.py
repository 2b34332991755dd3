"""`python -m grading nbcell CLASS [--timeout S]` inside a kernel's box: print the verdict."""
import json
import sys

VERDICTS = "/kata/verdicts.json"
OUTSIDE = ("{cls}: graded outside this notebook by the course's trusted grader; "
           "the score is in the gradebook. / 이 노트북 밖에서 채점합니다.")


def main(argv):
    if len(argv) < 2 or argv[0] != "nbcell":
        print("inside a notebook kernel only `python -m grading nbcell CLASS` exists", file=sys.stderr)
        return 2
    cls = argv[1]
    try:
        with open(VERDICTS, encoding="utf-8") as f:
            verdict = json.load(f).get(cls)
    except (OSError, ValueError, AttributeError):
        verdict = None
    if not isinstance(verdict, dict):
        verdict = {"class": cls, "score": 0.0, "max_score": 25.0, "output": OUTSIDE.format(cls=cls)}
    print(json.dumps(verdict))
    return 0


sys.exit(main(sys.argv[1:]))
