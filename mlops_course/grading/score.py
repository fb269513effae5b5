"""Score an executed notebook with nbgrader autograde into the gradebook (one writer).

nbgrader's own sanitise/execute steps already ran in ``prepare``/``executor``, so here
autograde only copies the executed notebook, saves the auto grades and applies late
penalties."""

from __future__ import annotations

import copy
import os
import shutil

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from mlops_course.course import Course
from mlops_course.errors import ScoringError
from mlops_course.grading import config as nbconfig

EXECUTED = "grading/executed"
SCORING = "grading/scoring"  # nbgrader writes here; the finished folder then moves to autograded/


def scoring_config(base):
    config = copy.deepcopy(base)
    config.CourseDirectory.submitted_directory = EXECUTED
    config.CourseDirectory.autograded_directory = SCORING
    config.Autograde.sanitize_preprocessors = [CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    return config


def score(course: Course, config, student: str, assignment: str) -> dict:
    result = nbconfig.api(scoring_config(config)).autograde(assignment, student, force=True, create=True)
    if not result.get("success"):
        raise ScoringError("nbgrader autograde failed: " + nbconfig.failure_reason(result))
    publish(course, student, assignment)
    return read_scores(course, student, assignment)


def publish(course: Course, student: str, assignment: str) -> None:
    """Move the finished autograded folder into autograded/ in one rename, so a killed
    run never leaves a half-written notebook there."""
    staged = course.root / SCORING / student / assignment
    final = course.autograded / student / assignment
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        old = final.with_name(f".{assignment}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(staged, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, final)


def read_scores(course: Course, student: str, assignment: str) -> dict:
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            raise ScoringError(
                f"no graded submission of {student} for {assignment} in the gradebook"
            ) from None
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = {
                    "score": float(grade.score or 0.0),
                    "max_score": float(grade.max_score),
                    "needs_manual_grade": bool(grade.needs_manual_grade),
                }
        return {"score": float(submission.score), "max_score": float(submission.max_score), "cells": cells}
