"""A generate_feedback preprocessor: no hidden test code in error tracebacks.

nbgrader's feedback HTML shows every output of the autograded notebook. When a
graded cell fails (a timeout, an interrupt), IPython's traceback quotes the
lines of the cell that was running, i.e. the hidden test code. This keeps the
error's name and message and drops the quoted frames, for graded cells only:
tracebacks of the student's own cells stay as they are, they only show the
student's code.

Scores are not touched: generate_feedback reads them from the gradebook.
"""
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class HideGradeCellTracebacks(NbGraderPreprocessor):
    """Replace the traceback of each error output of a grade cell by one line."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    name = output.get("ename", "Error")
                    output["traceback"] = [
                        f"{name}: the hidden tests of this cell stopped with an error; "
                        "this part scores 0."
                    ]
        return cell, resources
