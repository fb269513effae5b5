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

# The course's own steps, named rather than imported: every command reads this file,
# and importing them (nbgrader's preprocessors, nbconvert) costs about a second that only
# release and feedback need. The release keeps a theory question's call (the widget the
# student answers with) and drops its solution lines without the stub above. Feedback
# never shows hidden test code: hidden tests are cleared, and the tracebacks of failing
# tests are reduced to the assert's message (the hint); its page labels every entry with
# the question or exercise title and says when the total is provisional (an open answer
# awaiting the lecturer). tests/test_packaging.py keeps these names in step with the code.
_course = importlib.util.find_spec("mlops_course")
if _course is not None:  # else nbgrader runs without the course package, with its defaults
    c.GenerateAssignment.preprocessors = [
        "nbgrader.preprocessors.IncludeHeaderFooter",
        "nbgrader.preprocessors.InstantiateTests",
        "nbgrader.preprocessors.LockCells",
        "mlops_course.grading.release_steps.ClearSolutionsKeepQuestions",
        "nbgrader.preprocessors.ClearOutput",
        "nbgrader.preprocessors.CheckCellMetadata",
        "nbgrader.preprocessors.ComputeChecksums",
        "nbgrader.preprocessors.SaveCells",
        "nbgrader.preprocessors.ClearHiddenTests",
        "nbgrader.preprocessors.ClearMarkScheme",
        "nbgrader.preprocessors.ComputeChecksums",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
    c.GenerateFeedback.preprocessors = [
        "mlops_course.grading.feedback.GetGradesAndState",
        "mlops_course.grading.feedback.LabelGradeCells",
        "nbgrader.preprocessors.ClearHiddenTests",
        "mlops_course.grading.feedback.ReduceTracebacks",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    _nbgrader = importlib.util.find_spec("nbgrader").submodule_search_locations[0]
    c.HTMLExporter.template_file = "course_feedback.html.j2"
    c.HTMLExporter.extra_template_basedirs = [
        os.path.join(_course.submodule_search_locations[0], "data", "templates"),
        os.path.join(_nbgrader, "server_extensions", "formgrader", "templates"),
    ]
