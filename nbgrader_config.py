"""nbgrader configuration of the course; nbgrader's own CLI reads it unchanged.

Paths are taken relative to this file, so the course works from any checkout."""

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

# The release keeps a theory question's call (the widget the student answers with) and
# drops its solution lines without the stub above. Feedback never shows hidden test
# code: hidden tests are cleared, and the tracebacks of failing tests are reduced to
# the assert's message (the hint).
# Its page labels every entry with the question or exercise title and says when the
# total is provisional (an open answer awaiting the lecturer).
try:
    from mlops_course.grading import feedback
    from mlops_course.grading.release_steps import RELEASE_PREPROCESSORS

    c.GenerateAssignment.preprocessors = RELEASE_PREPROCESSORS
    FEEDBACK_PREPROCESSORS = feedback.FEEDBACK_PREPROCESSORS
    c.HTMLExporter.template_file = feedback.FEEDBACK_TEMPLATE_FILE
    c.HTMLExporter.extra_template_basedirs = [
        str(feedback.FEEDBACK_TEMPLATE_DIR),
        feedback.nbgrader_template_dir(),
    ]
except ImportError:  # nbgrader used without the course package installed
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    FEEDBACK_PREPROCESSORS = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS
