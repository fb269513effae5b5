"""`mlops-course grade`: every submission of an assignment, each one independent.

One straight line per submission, each step a module:

    results     graded before and unchanged? then the result is kept (resume)
    submissions read the notebooks, and say why one cannot be graded
    prepare     restore the test cells from the run's copy of the gradebook (hidden
                tests included), inject FAST and the student's SEED, copy the files
    execution   run them: a sandbox container each (default), the local pool
                (--no-sandbox) or a Dask cluster (--scheduler): ExecutionJob -> Outcome
    gradebook   nbgrader autograde: the submission's one write to the gradebook
    results     the JSON record of the submission

The gradebook is read once, when the run starts, and only this process writes it.
Preparation is lazy: the executor asks for the next job when it has room, so the first
notebooks run while the others are prepared. One bad submission is recorded with its
reason and never stops the others."""

from __future__ import annotations

import dataclasses
import os
import random
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import nbformat

from mlops_course.course import Course
from mlops_course.errors import GradingSetupError, ScoringError, SubmissionError
from mlops_course.grading import config as nbconfig
from mlops_course.grading import results as ledger
from mlops_course.grading.execution.jobs import ExecutionJob, Executor, Outcome
from mlops_course.grading.gradebook import (
    EXECUTED,
    AssignmentBook,
    hold_auto_grades,
    read_assignment,
    release_auto_grades,
    score_submission,
)
from mlops_course.grading.integrity.canaries import add_canaries
from mlops_course.grading.integrity.guard import given_imports
from mlops_course.grading.integrity.scan import scan_cells, student_cells
from mlops_course.grading.prepare import (
    has_parameters,
    inject_parameters,
    prepare_workdir,
    restore_grading_cells,
    write_notebook,
)
from mlops_course.grading.seeds import run_id, student_seed
from mlops_course.grading.students import select_students
from mlops_course.grading.submissions import read_submitted_notebook, submission_timestamp
from mlops_course.infra.resources import remove_run_resources


@dataclass
class Options:
    fast: bool = True
    workers: int = 1
    cell_timeout: int | None = None  # default: nbgrader_config.py's Execute.timeout
    wall_clock: int = 900  # whole notebook, seconds
    progress: bool = True
    scheduler: str | None = None  # a Dask scheduler address: run executions on that cluster
    sandbox: bool = True  # each submission in its own locked-down container
    limits: object = None  # execution.sandbox.Limits (memory, cpus, pids, sizes)
    docker_socket: bool = False  # give sandboxed jobs the Docker engine (m1_docker)
    force: bool = False  # grade again even what is already graded and unchanged
    integrity: bool = True  # kernel guard, canaries and static scan (off only to measure their cost)


def default_workers() -> int:
    return os.cpu_count() or 1


def make_executor(options: Options) -> Executor:
    """Where executions run: a sandbox container per job (the default), this machine's
    worker pool (--no-sandbox), or a Dask cluster (--scheduler)."""
    if options.scheduler:
        from mlops_course.grading.execution.dask_cluster import DaskExecutor

        return DaskExecutor(
            options.scheduler,
            options.workers,
            sandbox=options.sandbox,
            limits=options.limits,
            docker_socket=options.docker_socket,
        )
    if options.sandbox:
        from mlops_course.grading.execution.sandbox import SandboxExecutor

        return SandboxExecutor(
            options.workers,
            options.limits,
            options.docker_socket,
            log=print if options.progress else (lambda line: None),
        )
    from mlops_course.grading.execution.local_pool import LocalExecutor

    return LocalExecutor(options.workers)


def required_parts(course: Course, assignment: str) -> list[str]:
    """System parts the assignment's notebooks declare (metadata.mlops_course.requires;
    a course without that convention declares none)."""
    parts: list[str] = []
    for path in course.source_notebooks(assignment):
        declared = nbformat.read(str(path), as_version=4).metadata.get("mlops_course", {}).get("requires", [])
        parts += [part for part in declared if part not in parts]
    return parts


def check_sandbox_fits(assignment: str, parts: list[str], options: Options) -> None:
    """An assignment that drives the Docker engine scores nothing in a sandbox without
    the engine: refuse to start (locally and on Dask alike) instead of grading it 0."""
    if "docker" in parts and options.sandbox and not options.docker_socket:
        raise GradingSetupError(
            f"{assignment} drives a Docker engine, which the sandbox does not give to student code. "
            "Grade it with --allow-docker-socket (the notebooks get the engine, which is "
            "root-equivalent) or --no-sandbox (student code runs directly on this machine)."
        )


def prepared_folder(course: Course, student: str, assignment: str):
    """Where the notebooks to execute (hidden tests restored, parameters injected) wait:
    beside the working folder, not in it, because the sandbox mounts only the working
    folder and the kernel has no business reading the hidden tests it will be sent."""
    return course.grading / "work" / student / f".{assignment}.prepared"


def _reason(outcomes: list[Outcome]) -> str | None:
    reasons = [o.reason for o in outcomes if o.status != "executed" and o.reason]
    timeouts = [name for o in outcomes for name in o.timeouts]
    if timeouts:
        reasons.append("cell timeout in " + ", ".join(timeouts) + " (an endless loop or very slow code?)")
    return "; ".join(reasons) or None


@dataclass
class _InFlight:
    """A submission whose notebooks are executing."""

    seed: int
    started: float
    jobs: int
    outcomes: list[Outcome] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # the static scan's
    notes: list[str] = field(default_factory=list)  # what was resolved in a messy notebook


class GradingRun:
    """One `grade` run over one assignment: the steps of the module docstring, in order."""

    def __init__(self, course: Course, assignment: str, options: Options):
        self.course, self.assignment, self.options = course, assignment, options
        self.config = nbconfig.load_config(course)
        self.book: AssignmentBook = read_assignment(course, assignment)
        self.notebooks = sorted(self.book.notebooks)
        self.parts = required_parts(course, assignment)
        check_sandbox_fits(assignment, self.parts, options)
        self.source_sha = ledger.files_sha(course.source_notebooks(assignment))
        self.cell_timeout = options.cell_timeout or int(self.config.Execute.get("timeout", 180))
        self.results: dict[str, ledger.GradeResult] = {}
        self.in_flight: dict[str, _InFlight] = {}
        self.owner: dict[str, str] = {}  # job key -> student
        self.unreadable: dict[str, dict[str, str]] = {}  # student -> notebook -> why it was not graded
        self.rng = random.Random(secrets.randbits(64))  # canary places: unpredictable
        self.given = {n: given_imports(_released(course, assignment, n)) for n in self.notebooks}
        self.bar = _NoBar()

    # results: resume
    def still_to_grade(self, students: list[str]) -> list[str]:
        """The students whose submission has no final result for the same submission,
        source and mode; the others keep theirs (e.g. from an interrupted run)."""
        todo = []
        for student in students:
            previous = None if self.options.force else ledger.load(self.course, self.assignment, student)
            if (
                previous
                and previous.final
                and previous.submission_sha == self._submission_sha(student)
                and previous.source_sha == self.source_sha
                and previous.fast == self.options.fast
            ):
                self.results[student] = previous
            else:
                todo.append(student)
        return todo

    def _submission_sha(self, student: str) -> str:
        return ledger.folder_sha(self.course.submission_dir(student, self.assignment))

    # submissions + prepare
    def jobs(self, students: list[str]) -> Iterator[ExecutionJob]:
        """Each submission's jobs, prepared as the executor asks for them."""
        for student in students:
            started = time.monotonic()
            seed = student_seed(student, self.assignment)
            try:
                jobs, findings, notes = self._prepare(student, seed)
            except SubmissionError as exc:
                self._record(student, seed, started, ledger.ERROR, str(exc))
                continue
            except Exception as exc:  # a notebook nbgrader cannot sanitise is the submission's problem
                reason = f"could not prepare the notebook: {type(exc).__name__}: {exc}"
                self._record(student, seed, started, ledger.ERROR, reason)
                continue
            self.in_flight[student] = _InFlight(seed, started, len(jobs), findings=findings, notes=notes)
            for job in jobs:
                self.owner[job.key] = student
                yield job

    def _prepare(self, student: str, seed: int) -> tuple[list[ExecutionJob], list[str], list[str]]:
        course, assignment = self.course, self.assignment
        workdir = prepare_workdir(
            course, student, assignment, list(self.config.CourseDirectory.get("ignore", []))
        )
        executed_dir = course.root / EXECUTED / student / assignment
        shutil.rmtree(executed_dir, ignore_errors=True)  # never score a previous run's output
        executed_dir.mkdir(parents=True)
        for name in ("timestamp.txt", "submission_secret.txt"):  # release_feedback needs the secret
            kept = course.submission_dir(student, assignment) / name
            if kept.is_file():
                shutil.copyfile(kept, executed_dir / name)
        jobs, findings, notes, unreadable = [], [], [], {}
        for notebook in self.notebooks:
            try:  # one missing or broken notebook does not drop its siblings
                nb = read_submitted_notebook(course, student, assignment, notebook, tuple(self.notebooks))
            except SubmissionError as exc:
                unreadable[notebook] = str(exc)
                continue
            released = course.release / assignment / f"{notebook}.ipynb"
            nb = restore_grading_cells(nb, self.config, self.book, released, notebook, notes)
            if has_parameters(nb):  # this course's convention; other courses have none
                nb = inject_parameters(nb, {"FAST": self.options.fast, "SEED": seed})
            if self.options.integrity:
                prefix = f"{notebook}.ipynb, " if len(self.notebooks) > 1 else ""
                findings += [prefix + str(f) for f in scan_cells(student_cells(nb))]
                nb = add_canaries(nb, self.rng)
            prepared = prepared_folder(course, student, assignment) / f"{notebook}.ipynb"
            write_notebook(nb, prepared)
            jobs.append(
                ExecutionJob(
                    key=f"{student}/{assignment}/{notebook}",
                    input=prepared,
                    output=executed_dir / f"{notebook}.ipynb",
                    workdir=workdir,
                    cell_timeout=self.cell_timeout,
                    wall_clock=self.options.wall_clock,
                    env={
                        "NBGRADER_EXECUTION": "autograde",
                        "MLOPS_COURSE_RUN_ID": run_id(student, assignment),
                        # whose notebook: the order of the theory questions' options
                        "MLOPS_COURSE_STUDENT": student,
                        "PYTHONHASHSEED": "0",
                    },
                    guard=self.options.integrity,
                    given_imports=self.given[notebook],
                )
            )
        if not jobs:  # nothing gradable at all: the submission's error
            raise SubmissionError("; ".join(unreadable.values()))
        self.unreadable[student] = unreadable
        return jobs, findings, notes

    # execution done -> gradebook -> results
    def on_done(self, job: ExecutionJob, outcome: Outcome) -> None:
        student = self.owner.pop(job.key)
        flight = self.in_flight[student]
        flight.outcomes.append(outcome)
        if len(flight.outcomes) < flight.jobs:
            return
        del self.in_flight[student]
        if "docker" in self.parts:
            _remove_docker_leftovers(student, self.assignment)
        reason = _reason(flight.outcomes)
        seconds = sum(o.seconds for o in flight.outcomes)
        extra = {"notes": flight.notes, "guard_s": round(sum(o.guard_seconds for o in flight.outcomes), 3)}
        grader_failed = any(o.grader_failed for o in flight.outcomes)
        executed = self.course.root / EXECUTED / student / self.assignment
        unreadable = self.unreadable.pop(student, {})
        extra["notebooks"] = {
            name: {"status": "not graded", "reason": why} for name, why in unreadable.items()
        }
        if unreadable:  # graded without them: nbgrader scores a missing notebook 0
            reason = "; ".join([*(reason and [reason] or []), *unreadable.values()])
        ran = [n for n in self.notebooks if n not in unreadable]
        if grader_failed or not all((executed / f"{n}.ipynb").is_file() for n in ran):
            # the grader failed, not the student: recorded, and tried again by the next run
            reason = reason or "the notebook produced no output"
            self._record(
                student,
                flight.seed,
                flight.started,
                ledger.ERROR,
                reason,
                seconds=seconds,
                final=not grader_failed,
                **extra,
            )
            return
        previous = ledger.load(self.course, self.assignment, student)
        if previous is not None and previous.withheld:
            # graded again after a hold: nbgrader would take the held zeros for a
            # lecturer's grades and flag every cell for manual grading
            release_auto_grades(self.course, self.assignment, student, list(previous.withheld))
        try:
            scores = score_submission(self.course, self.config, student, self.assignment)
        except ScoringError as exc:
            self._record(student, flight.seed, flight.started, ledger.ERROR, str(exc), final=False, **extra)
            return
        extra["notebooks"] = {
            name: {"status": "graded", "reason": None, **found} | extra["notebooks"].get(name, {})
            for name, found in scores.notebooks.items()
        }
        tampering = flight.findings + [finding for o in flight.outcomes for finding in o.tampering]
        if tampering:  # no auto points until the lecturer has looked (`mlops-course review`)
            withheld = hold_auto_grades(self.course, self.assignment, student)
            scores = dataclasses.replace(scores, score=0.0, cells=_held(scores.cells))
            reason = (
                "possible tampering, awaiting review: "
                + "; ".join(tampering[:3])
                + (f" (and {len(tampering) - 3} more)" if len(tampering) > 3 else "")
            )
            self._record(
                student,
                flight.seed,
                flight.started,
                ledger.TAMPERED,
                reason,
                scores=scores,
                seconds=seconds,
                tampering=tampering,
                withheld=withheld,
                **extra,
            )
            return
        self._record(
            student,
            flight.seed,
            flight.started,
            ledger.GRADED,
            reason,
            scores=scores,
            seconds=seconds,
            **extra,
        )

    def _record(
        self, student, seed, started, status, reason=None, scores=None, seconds=None, final=True, **extra
    ):
        result = ledger.GradeResult(
            student=student,
            assignment=self.assignment,
            status=status,
            seed=seed,
            reason=reason,
            score=scores.score if scores else 0.0,
            max_score=scores.max_score if scores else self.book.max_score,
            cells=scores.cells if scores else {},
            submitted_at=submission_timestamp(self.course, student, self.assignment),
            graded_at=ledger.now_iso(),
            duration_s=round(seconds if seconds is not None else time.monotonic() - started, 2),
            fast=self.options.fast,
            submission_sha=self._submission_sha(student),
            source_sha=self.source_sha,
            final=final,
            **extra,
        )
        ledger.save(self.course, result)
        self.results[student] = result
        shutil.rmtree(self.course.grading / "work" / student / self.assignment, ignore_errors=True)
        shutil.rmtree(prepared_folder(self.course, student, self.assignment), ignore_errors=True)
        self.bar.update(1)


def grade(
    course: Course, assignment: str, students: list[str] | None = None, options: Options | None = None
) -> list[ledger.GradeResult]:
    """Grade the submissions of ``students`` (default: every submission of the assignment).
    Unknown ids are an error before anything is written; a known student without a
    submission is not delivered: no result (see ``students.select_students``)."""
    options = options or Options()
    selection = select_students(course, assignment, students)
    run = GradingRun(course, assignment, options)
    students = selection.to_grade
    if not students and not selection.not_delivered:
        raise GradingSetupError(f"no submissions of {assignment} in {course.submitted}")
    todo = run.still_to_grade(students)
    if todo:
        run.bar = _progress(len(todo), assignment, options.progress)
        make_executor(options).run(run.jobs(todo), run.on_done)
        run.bar.close()
    return [run.results[s] for s in students]


def _released(course: Course, assignment: str, notebook: str):
    path = course.release / assignment / f"{notebook}.ipynb"
    return nbformat.read(str(path), as_version=4) if path.is_file() else nbformat.v4.new_notebook()


def _held(cells: dict) -> dict:
    """The cells' scores as the gradebook counts them while auto grades are held."""
    return {
        name: dict(cell, score=0.0) if not cell.get("needs_manual_grade") else dict(cell)
        for name, cell in cells.items()
    }


def _remove_docker_leftovers(student: str, assignment: str) -> None:
    """What a stopped notebook did not clean up itself (its containers, images, ...)."""
    try:
        remove_run_resources(run=run_id(student, assignment))
    except Exception:  # no engine, or nothing to remove: never fail the grading for it
        pass


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, assignment, enabled):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=f"grading {assignment}", unit="submission")
