"""The study guide's assessment rules applied to a class: status per lab (on time,
late, absent, open), the one-demo-per-week rule, levels per criterion per module and
per course, the grade and pass/fail.

Pure functions over plain data (no database): :mod:`.collect` reads the gradebook
and the results ledger into :class:`Attempt` objects; tests build them directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mlops_course.reporting.rubric import NYP, CellGoal, Rubric
from mlops_course.reporting.schedule import is_late, local_week

# Lab statuses
ON_TIME = "on_time"  # delivered before the demo deadline
LATE = "late"  # delivered after the deadline: counts as absent (regular students)
ABSENT = "absent"  # not delivered and the deadline has passed
OPEN = "open"  # not delivered yet, deadline still ahead (or TIAO: no deadline)
TIAO = "tiao"  # delivered by a TIAO student (no deadline)
ERROR = "grading_error"  # the grader failed on the submission (see reason)
REVIEW = "integrity_review"  # possible tampering: no auto points until the lecturer reviews it
STATUSES = [ON_TIME, TIAO, LATE, ABSENT, OPEN, REVIEW, ERROR]

PASS, FAIL, PENDING = "pass", "fail", "pending"
NO_TIME = "submission time unknown (no timestamp.txt)"


@dataclass
class CellScore:
    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool = False


@dataclass
class Attempt:
    """One graded (or failed) submission of a module by a student."""

    student: str
    module: str
    submitted_at: datetime | None
    cells: dict[str, CellScore] = field(default_factory=dict)
    attempt: int = 1  # 1 = first attempt, 2 = resit
    grading_status: str = "graded"  # the results ledger's status: "graded", "error", ...
    reason: str | None = None
    extension: timedelta | None = None  # nbgrader's per-student extension of the due date
    late_penalty: float = 0.0  # nbgrader's (0 unless a late-submission plugin is configured)

    @property
    def score(self) -> float:
        """What formgrader and `export` show: the cells' scores minus nbgrader's late penalty."""
        return max(0.0, sum(c.score for c in self.cells.values()) - self.late_penalty)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    @property
    def needs_manual_grade(self) -> bool:
        return any(c.needs_manual_grade for c in self.cells.values())


@dataclass
class StudentInfo:
    id: str
    name: str = ""
    email: str = ""
    tiao: bool = False


@dataclass
class Resit:
    student: str
    module: str
    prepared_at: datetime  # aware UTC
    deadline: datetime | None = None  # aware UTC
    first_attempt: Attempt | None = None
    reasons: str = ""


@dataclass
class ModuleResult:
    student: str
    module: str
    attempt: int
    status: str
    score: float | None
    max_score: float | None
    submitted_at: datetime | None
    deadline: datetime | None
    levels: dict[str, str | None]  # criterion -> level (None: not assessed here)
    shares: dict[str, float | None]
    counted: bool
    proficient: bool
    demo_week: str | None = None  # "2026-W40"
    second_demo_in_week: bool = False
    needs_manual_grade: bool = False
    reason: str = ""
    effective: bool = True  # the attempt that decides (resit over first)


@dataclass
class StudentResult:
    student: StudentInfo
    modules: dict[str, ModuleResult]  # effective result per module
    course_levels: dict[str, str | None]
    grade: float | None
    technical_ok: bool
    result: str  # pass | fail | pending
    failing_modules: list[str]
    open_modules: list[str]  # not delivered yet, or waiting for manual grading

    @property
    def passed(self) -> bool:
        return self.result == PASS


@dataclass
class ClassResult:
    modules: list[str]
    criteria: list[str]
    students: dict[str, StudentResult]
    rows: list[ModuleResult]  # every attempt, first and resit
    goals: dict[str, dict[str, CellGoal]]
    attempts: list[Attempt]
    rubric: Rubric
    as_of: datetime


def _shares(attempt: Attempt | None, goals: dict[str, CellGoal], rubric: Rubric) -> dict[str, float | None]:
    points: dict[str, list[float]] = {}
    for grade_id, goal in goals.items():
        cell = attempt.cells.get(grade_id) if attempt else None
        score = cell.score if cell else 0.0
        max_score = cell.max_score if cell else goal.max_score
        for criterion in goal.criteria(rubric):
            got = points.setdefault(criterion, [0.0, 0.0])
            got[0] += score
            got[1] += max_score
    return {c: (min(1.0, s / m) if m > 0 else None) for c, (s, m) in points.items()}


def _module_result(
    student: StudentInfo,
    module: str,
    attempt: Attempt | None,
    goals,
    rubric: Rubric,
    deadline: datetime | None,
    as_of: datetime,
    number: int = 1,
    tiao_rule: bool | None = None,
) -> ModuleResult:
    tiao = student.tiao if tiao_rule is None else tiao_rule
    shares = _shares(attempt, goals, rubric)
    if deadline is not None and attempt is not None and attempt.extension:
        deadline = deadline + attempt.extension  # granted by the lecturer in nbgrader
    reason = ""
    if attempt is None:
        if tiao or deadline is None or as_of <= deadline:
            status, reason = OPEN, "not delivered yet"
        else:
            status, reason = ABSENT, "not delivered before the deadline"
    elif attempt.grading_status == "tampered":
        status, reason = REVIEW, attempt.reason or "awaiting the lecturer's integrity review"
    elif attempt.grading_status != "graded":
        status, reason = ERROR, attempt.reason or "grading failed"
    elif tiao:
        status = TIAO
    elif attempt.submitted_at is not None and is_late(attempt.submitted_at, deadline):
        status, reason = LATE, "delivered after the deadline: counts as absent"
    else:
        status = ON_TIME
        if attempt.submitted_at is None and deadline is not None:
            reason = f"{NO_TIME}: judged on time; record it with `mlops-course submit-time`"
    counted = status in (ON_TIME, TIAO)
    levels = {}
    for criterion, share in shares.items():
        if status == OPEN or share is None:
            levels[criterion] = None  # not assessed (yet)
        else:
            levels[criterion] = rubric.level_for(criterion, share) if counted else NYP
    return ModuleResult(
        student=student.id,
        module=module,
        attempt=number,
        status=status,
        score=attempt.score if attempt and attempt.grading_status == "graded" else None,
        max_score=attempt.max_score if attempt and attempt.grading_status == "graded" else None,
        submitted_at=attempt.submitted_at if attempt else None,
        deadline=None if tiao else deadline,
        levels=levels,
        shares=shares if attempt else {c: None for c in shares},
        counted=counted,
        proficient=False,
        needs_manual_grade=bool(attempt and attempt.needs_manual_grade),
        reason=reason,
    )


def _finish(result: ModuleResult, rubric: Rubric) -> None:
    result.proficient = result.counted and all(
        rubric.at_least_proficient(level)
        for c, level in result.levels.items()
        if level is not None and rubric.is_technical(c)
    )


def _apply_weekly_limit(results: list[ModuleResult], rubric: Rubric, tiao: bool) -> None:
    """At most one demo per local calendar week counts: the first on-time lab of a week
    is the demo; any later one that week is flagged (and, by default, not counted)."""
    tz = rubric.timezone
    for r in results:
        if r.submitted_at is not None:
            year, week = local_week(r.submitted_at, tz)
            r.demo_week = f"{year}-W{week:02d}"
    if not rubric.demos.get("one_demo_per_week", True):
        return
    if tiao and not rubric.demos.get("one_demo_per_week_tiao", True):
        return
    seen: dict[str, str] = {}
    for r in sorted(
        (r for r in results if r.counted and r.submitted_at is not None),
        key=lambda r: (r.submitted_at, r.module),
    ):
        if r.demo_week in seen:
            r.second_demo_in_week = True
            note = f"second demo in week {r.demo_week} ({seen[r.demo_week]} was demoed that week)"
            if rubric.demos.get("second_demo_in_week", "not_counted") == "not_counted":
                r.counted = False
                r.levels = {c: (NYP if lv is not None else None) for c, lv in r.levels.items()}
                r.reason = note + ": not counted, demo it in another week"
            else:
                r.reason = note
        else:
            seen[r.demo_week] = r.module


def evaluate(
    students: list[StudentInfo],
    modules: list[str],
    attempts: list[Attempt],
    goals: dict[str, dict[str, CellGoal]],
    rubric: Rubric,
    deadlines: dict[str, datetime | None],
    as_of: datetime | None = None,
    resits: list[Resit] = (),
) -> ClassResult:
    """Apply the rubric and the demo rules to every student and module."""
    as_of = as_of or datetime.now(UTC)
    first = {(a.student, a.module): a for a in attempts if a.attempt == 1}
    second = {(a.student, a.module): a for a in attempts if a.attempt == 2}
    resit_by = {(r.student, r.module): r for r in resits}
    all_criteria = set()
    for module in modules:
        for goal in goals.get(module, {}).values():
            all_criteria.update(goal.criteria(rubric))
    criteria = rubric.order(all_criteria)

    rows: list[ModuleResult] = []
    out: dict[str, StudentResult] = {}
    for student in students:
        firsts = [
            _module_result(
                student, m, first.get((student.id, m)), goals.get(m, {}), rubric, deadlines.get(m), as_of
            )
            for m in modules
        ]
        _apply_weekly_limit(firsts, rubric, student.tiao)
        effective = {}
        for r in firsts:
            _finish(r, rubric)
            effective[r.module] = r
        for m in modules:
            resit = resit_by.get((student.id, m))
            if resit is None:
                continue
            # The resit is an individual assignment with its own deadline (no weekly limit).
            second_result = _module_result(
                student,
                m,
                second.get((student.id, m)),
                goals.get(m, {}),
                rubric,
                resit.deadline,
                as_of,
                number=2,
                tiao_rule=resit.deadline is None,
            )
            if second_result.status == TIAO:
                second_result.status = ON_TIME
            _finish(second_result, rubric)
            effective[m].effective = False
            effective[m] = second_result
            rows.append(second_result)
        rows.extend(firsts)

        course_levels = _course_levels(effective, goals, first, second, rubric, criteria)
        grade = rubric.grade_for(course_levels)
        # A lab that does not count fails; a counted lab below proficient fails unless
        # open answers still wait for manual grading (then the verdict is pending).
        failing = [
            m
            for m, r in effective.items()
            if r.status not in (OPEN, REVIEW)
            and not r.proficient
            and not (r.counted and r.needs_manual_grade)
        ]
        open_ = [
            m
            for m, r in effective.items()
            if r.status in (OPEN, REVIEW) or (r.counted and r.needs_manual_grade)
        ]
        technical_ok = not failing
        if failing:
            verdict = FAIL
        elif open_:
            verdict = PENDING
        elif grade is not None and grade >= rubric.pass_mark:
            verdict = PASS
        else:
            verdict = FAIL
        out[student.id] = StudentResult(
            student, effective, course_levels, grade, technical_ok, verdict, failing, open_
        )
    rows.sort(key=lambda r: (r.student, modules.index(r.module), r.attempt))
    return ClassResult(modules, criteria, out, rows, goals, attempts, rubric, as_of)


def _course_levels(
    effective: dict[str, ModuleResult], goals, first, second, rubric: Rubric, criteria: list[str]
) -> dict[str, str | None]:
    """A criterion over the whole course: the level of the share of all its points in
    the modules assessed so far (open modules are left out), but not yet proficient
    as soon as one module is not yet proficient on it (the study guide: one criterion
    not yet proficient is enough to fail)."""
    totals: dict[str, list[float]] = {}
    weakest: dict[str, int] = {}
    for module, r in effective.items():
        if r.status == OPEN:
            continue
        for criterion, level in r.levels.items():
            if level is None:
                continue
            weakest[criterion] = min(weakest.get(criterion, 99), rubric.rank(level))
            max_points = sum(
                g.max_score for g in goals.get(module, {}).values() if criterion in g.criteria(rubric)
            )
            share = r.shares.get(criterion) if r.counted else 0.0
            got = totals.setdefault(criterion, [0.0, 0.0])
            got[0] += (share or 0.0) * max_points
            got[1] += max_points
    levels = {}
    for criterion in criteria:
        if criterion not in totals:
            levels[criterion] = None
            continue
        s, m = totals[criterion]
        level = rubric.level_for(criterion, s / m if m > 0 else 0.0)
        if weakest.get(criterion, 99) == 0:
            level = NYP
        levels[criterion] = level
    return levels
