"""Lecturer and self-study tooling: rubric levels, schedule and demo deadlines, roster
import, class report (CSV + HTML with item analysis), resit and self-study progress.

The command line (``mlops_course.cli``) adds the subcommands with :func:`register`."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add every reporting subcommand (roster, schedule, report, resit, progress)."""
    from mlops_course.reporting import report_command, resit, roster, schedule
    from mlops_course.student import progress

    for module in (roster, schedule, report_command, resit, progress):
        module.register(subparsers)
