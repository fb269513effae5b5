"""`mlops-course grade`: every submission of an assignment, each one independent.

For each submission: check it (submissions), restore hidden tests and inject the
parameters (prepare), execute it with limits (sandbox: a container per submission;
executor: worker processes, only with --no-sandbox; dask_executor: a Dask cluster),
then score it with nbgrader autograde (score) and record the result (results).
Scoring happens in this process only, so the gradebook has one writer. One bad
submission is recorded with its reason and never stops the others; a result that is
already there for the same submission and source is kept (resume after a kill).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

from mlops_course.course import Course
from mlops_course.errors import GradingSetupError
from mlops_course.grading import config as nbconfig
from mlops_course.grading import results as ledger
from mlops_course.grading.execution.local_pool import ExecutionJob, LocalExecutor
from mlops_course.grading.prepare import (
    inject_parameters,
    prepare_workdir,
    restore_grading_cells,
    write_notebook,
)
from mlops_course.grading.score import EXECUTED, ScoringError, score
from mlops_course.grading.seeds import run_id, student_seed
from mlops_course.grading.submissions import SubmissionError, read_submitted_notebook, submission_timestamp


@dataclass
class Options:
    fast: bool = True
    workers: int = 1
    cell_timeout: int | None = None  # default: nbgrader_config.py's Execute.timeout
    wall_clock: int = 900  # whole notebook, seconds
    progress: bool = True
    scheduler: str | None = None  # a Dask scheduler address: run executions on that cluster
    sandbox: bool = True  # each submission in its own locked-down container
    limits: object = None  # sandbox.Limits (memory, cpus, pids, sizes)
    docker_socket: bool = False  # give sandboxed jobs the Docker engine (m1_docker)
    force: bool = False  # grade again even what is already graded and unchanged


def make_executor(options: Options):
    """Where executions run: a sandbox container per job (the default), this machine's
    worker pool (--no-sandbox), or a Dask cluster."""
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
    return LocalExecutor(options.workers)


def assignment_notebooks(course: Course, assignment: str) -> tuple[list[str], float]:
    """The assignment's notebook names and its maximum score, from the gradebook."""
    try:
        with Gradebook(course.db_url, course.course_id) as gb:
            found = gb.find_assignment(assignment)
            return sorted(nb.name for nb in found.notebooks), float(found.max_score)
    except MissingEntry:
        raise GradingSetupError(
            f"assignment {assignment!r} is not in the gradebook: run `mlops-course release {assignment}` first"
        ) from None


def required_parts(course: Course, assignment: str) -> list[str]:
    """System parts the assignment's notebook declares (metadata.mlops_course.requires)."""
    import nbformat

    path = course.source_notebook(assignment)
    if not path.is_file():
        return []
    return list(nbformat.read(str(path), as_version=4).metadata.get("mlops_course", {}).get("requires", []))


def _check_sandbox_fits(assignment: str, parts: list[str], options: Options) -> None:
    if "docker" in parts and options.sandbox and not options.docker_socket and not options.scheduler:
        raise GradingSetupError(
            f"{assignment} drives a Docker engine, which the sandbox does not give to student code. "
            "Grade it with --allow-docker-socket (the notebooks get the engine, which is "
            "root-equivalent) or --no-sandbox (student code runs directly on this machine)."
        )


def _remove_docker_leftovers(student: str, assignment: str) -> None:
    """What a stopped notebook did not clean up itself (its containers, images, ...)."""
    try:
        from mlops_course.labs.docker.containers import remove_run_resources

        remove_run_resources(run=run_id(student, assignment))
    except Exception:  # no engine, or nothing to remove: never fail the grading for it
        pass


def prepared_folder(course: Course, student: str, assignment: str):
    """Where the notebooks to execute (hidden tests restored, parameters injected) wait."""
    return course.grading / "work" / student / f".{assignment}.prepared"


def _prepare(course, config, student, assignment, notebooks, options):
    """Main-process half of a job: returns ExecutionJobs (one per notebook)."""
    seed = student_seed(student, assignment)
    ignore = list(config.CourseDirectory.get("ignore", []))
    workdir = prepare_workdir(course, student, assignment, ignore)
    cell_timeout = options.cell_timeout or int(config.Execute.get("timeout", 180))
    executed_dir = course.root / EXECUTED / student / assignment
    shutil.rmtree(executed_dir, ignore_errors=True)  # never score a previous run's output
    executed_dir.mkdir(parents=True)
    for name in ("timestamp.txt", "submission_secret.txt"):  # release_feedback needs the secret
        kept = course.submission_dir(student, assignment) / name
        if kept.is_file():
            shutil.copyfile(kept, executed_dir / name)
    jobs = []
    for notebook in notebooks:
        nb = read_submitted_notebook(course, student, assignment, notebook)
        nb = restore_grading_cells(nb, config, course, assignment, notebook, student)
        nb = inject_parameters(nb, {"FAST": options.fast, "SEED": seed})
        # beside the working folder, not in it: the sandbox mounts only the working folder,
        # and the kernel has no business reading the hidden tests it will be sent
        prepared = prepared_folder(course, student, assignment) / f"{notebook}.ipynb"
        write_notebook(nb, prepared)
        jobs.append(
            ExecutionJob(
                key=f"{student}/{assignment}/{notebook}",
                input=prepared,
                output=executed_dir / f"{notebook}.ipynb",
                workdir=workdir,
                cell_timeout=cell_timeout,
                wall_clock=options.wall_clock,
                env={
                    "NBGRADER_EXECUTION": "autograde",
                    "MLOPS_COURSE_RUN_ID": run_id(student, assignment),
                    "PYTHONHASHSEED": "0",
                },
            )
        )
    return seed, jobs


def _reason(outcomes: list[dict]) -> str | None:
    reasons = [o["reason"] for o in outcomes if o.get("status") != "executed" and o.get("reason")]
    timeouts = [name for o in outcomes for name in o.get("timeouts", [])]
    if timeouts:
        reasons.append("cell timeout in " + ", ".join(timeouts) + " (an endless loop or very slow code?)")
    return "; ".join(reasons) or None


def grade(
    course: Course, assignment: str, students: list[str] | None = None, options: Options | None = None
) -> list[ledger.GradeResult]:
    options = options or Options()
    config = nbconfig.load_config(course)
    notebooks, max_score = assignment_notebooks(course, assignment)
    parts = required_parts(course, assignment)
    _check_sandbox_fits(assignment, parts, options)
    students = students or course.students_with_submissions(assignment)
    if not students:
        raise GradingSetupError(f"no submissions of {assignment} in {course.submitted}")
    started = {student: time.monotonic() for student in students}
    results: dict[str, ledger.GradeResult] = {}
    source_sha = ledger.file_sha(course.source_notebook(assignment))
    submission_sha = {s: ledger.folder_sha(course.submission_dir(s, assignment)) for s in students}

    def finish(student, seed, status, reason=None, scores=None, seconds=None, final=True):
        result = ledger.GradeResult(
            student=student,
            assignment=assignment,
            status=status,
            seed=seed,
            reason=reason,
            submitted_at=submission_timestamp(course, student, assignment),
            graded_at=ledger.now_iso(),
            duration_s=round(seconds if seconds is not None else time.monotonic() - started[student], 2),
            fast=options.fast,
            submission_sha=submission_sha[student],
            source_sha=source_sha,
            final=final,
            **(scores or {"max_score": max_score}),
        )
        ledger.save(course, result)
        results[student] = result
        shutil.rmtree(course.grading / "work" / student / assignment, ignore_errors=True)
        shutil.rmtree(prepared_folder(course, student, assignment), ignore_errors=True)

    bar = _progress(len(students), assignment, options.progress)
    owner, outcomes, expected, to_grade = {}, {}, {}, []
    for student in students:
        previous = None if options.force else ledger.load(course, assignment, student)
        if (
            previous
            and previous.final
            and previous.submission_sha == submission_sha[student]
            and previous.source_sha == source_sha
            and previous.fast == options.fast
        ):
            results[student] = previous  # graded before (e.g. by an interrupted run): keep it
            bar.update(1)
        else:
            to_grade.append(student)

    def prepared_jobs():
        """Each submission's jobs, prepared as the executor asks for them, so the first
        notebooks run while the rest are still being prepared."""
        for student in to_grade:
            seed = student_seed(student, assignment)
            try:
                seed, student_jobs = _prepare(course, config, student, assignment, notebooks, options)
            except SubmissionError as exc:
                finish(student, seed, ledger.ERROR, str(exc))
                bar.update(1)
                continue
            except Exception as exc:  # a notebook nbgrader cannot sanitise is the submission's problem
                finish(
                    student,
                    seed,
                    ledger.ERROR,
                    f"could not prepare the notebook: {type(exc).__name__}: {exc}",
                )
                bar.update(1)
                continue
            expected[student] = len(student_jobs)
            outcomes[student] = []
            for job in student_jobs:
                owner[job.key] = (student, seed)
                yield job

    def on_done(job, outcome):
        student, seed = owner[job.key]
        outcomes[student].append(outcome)
        if len(outcomes[student]) < expected[student]:
            return
        if "docker" in parts:
            _remove_docker_leftovers(student, assignment)
        reason = _reason(outcomes[student])
        seconds = sum(o.get("seconds", 0) for o in outcomes[student])
        infrastructure = any(o.get("status") == "failed" for o in outcomes[student])
        if infrastructure or not all(_executed_file(course, student, assignment, n) for n in notebooks):
            # the grader failed, not the student: recorded, and tried again by the next run
            finish(
                student,
                seed,
                ledger.ERROR,
                reason or "the notebook produced no output",
                seconds=seconds,
                final=not infrastructure,
            )
        else:
            try:
                finish(
                    student,
                    seed,
                    ledger.GRADED,
                    reason,
                    score(course, config, student, assignment),
                    seconds=seconds,
                )
            except ScoringError as exc:
                finish(student, seed, ledger.ERROR, str(exc), final=False)
        bar.update(1)

    if to_grade:
        make_executor(options).run(prepared_jobs(), on_done)
    bar.close()
    return [results[s] for s in students]


def _executed_file(course, student, assignment, notebook) -> bool:
    return (course.root / EXECUTED / student / assignment / f"{notebook}.ipynb").is_file()


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


def default_workers() -> int:
    return os.cpu_count() or 1
