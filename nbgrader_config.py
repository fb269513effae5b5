"""nbgrader configuration of the course; nbgrader's own CLI reads it unchanged.

Paths are taken relative to this file, so the course works from any checkout."""

import importlib.util
import os

c = get_config()

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "mlops-course"
c.CourseDirectory.root = COURSE_ROOT
# SQLite gradebook in the course root; MLOPS_COURSE_DB_URL points it elsewhere
# (e.g. postgresql+psycopg2://user:pw@127.0.0.1:5432/gradebook at scale).
c.CourseDirectory.db_url = os.environ.get(
    "MLOPS_COURSE_DB_URL", "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db")
)
# Files that never belong in a release or a submission.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".DS_Store",
    "*.egg-info",
    ".mlops-course-work",
]

# The exchange (release/fetch/submit/collect on JupyterHub) is a shared folder.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Per-cell timeout while autograding; the whole-notebook limit lives in mlops_course.
c.Execute.timeout = int(os.environ.get("MLOPS_COURSE_CELL_TIMEOUT", "180"))
c.Execute.interrupt_on_timeout = True

# What a student sees in place of removed solution code.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A student who deletes a test cell still gets it run: nbgrader adds it back.
c.OverwriteCells.add_missing_cells = True

# Feedback never shows hidden test code: hidden tests are cleared, and the
# tracebacks of failing tests are reduced to the assert's message (the hint).
# Named, not imported: every command reads this file, and importing the
# preprocessors (nbconvert) costs about a second that only `feedback` needs.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
if importlib.util.find_spec("mlops_course") is not None:  # else nbgrader runs without the course package
    c.GenerateFeedback.preprocessors.insert(2, "mlops_course.grading.feedback.ReduceTracebacks")
