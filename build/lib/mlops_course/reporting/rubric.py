"""The rubric (rubric.yaml): levels per criterion, technical vs reporting criteria,
the grade on 20 and the pass rule; and the learning goal of every grade cell, read
from the source notebooks."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlops_course.errors import RubricError
from mlops_course.settings import LEARNING_GOALS, TIMEZONE, data_file

TECHNICAL = "technical"
REPORTING = "reporting"
NYP = "not_yet_proficient"
PROFICIENT = "proficient"
UNMAPPED = "unmapped"


@dataclass(frozen=True)
class Level:
    id: str
    label: str
    min: float


@dataclass(frozen=True)
class CellGoal:
    """What a grade cell assesses."""

    grade_id: str
    goal: str
    criterion: str | None = None
    cell_type: str = "code"
    max_score: float = 0.0

    def criteria(self, rubric: Rubric) -> list[str]:
        """The criteria the cell's points count for (see rubric.yaml)."""
        if self.criterion and rubric.kind(self.criterion) == REPORTING:
            return [self.criterion]
        return [self.goal] + ([self.criterion] if self.criterion and self.criterion != self.goal else [])


@dataclass
class Rubric:
    levels: list[Level]
    criteria: dict[str, dict]
    default_kind: str = TECHNICAL
    grade: dict = field(default_factory=dict)
    demos: dict = field(default_factory=dict)
    schedule: dict = field(default_factory=dict)

    # levels
    @property
    def level_ids(self) -> list[str]:
        return [level.id for level in self.levels]

    def rank(self, level_id: str | None) -> int:
        """0 for not yet proficient ... 3 for expert; -1 for not assessed."""
        return self.level_ids.index(level_id) if level_id in self.level_ids else -1

    def label(self, level_id: str | None) -> str:
        for level in self.levels:
            if level.id == level_id:
                return level.label
        return "" if level_id is None else str(level_id)

    def thresholds(self, criterion: str) -> list[Level]:
        override = (self.criteria.get(criterion) or {}).get("levels") or {}
        return [Level(lv.id, lv.label, float(override.get(lv.id, lv.min))) for lv in self.levels]

    def level_for(self, criterion: str, share: float | None) -> str | None:
        """The level a share of points (0..1) reaches; None when not assessed."""
        if share is None:
            return None
        reached = self.levels[0].id
        for level in self.thresholds(criterion):
            if share + 1e-9 >= level.min:
                reached = level.id
        return reached

    def at_least_proficient(self, level_id: str | None) -> bool:
        return self.rank(level_id) >= self.rank(PROFICIENT)

    # criteria
    def kind(self, criterion: str) -> str:
        if criterion in self.criteria:
            return self.criteria[criterion].get("kind", TECHNICAL)
        return self.default_kind

    def is_technical(self, criterion: str) -> bool:
        return self.kind(criterion) == TECHNICAL

    def title(self, criterion: str) -> str:
        return (self.criteria.get(criterion) or {}).get("title") or LEARNING_GOALS.get(criterion, criterion)

    def order(self, criteria) -> list[str]:
        """Learning goals first (LG1..LG5), then module criteria, reporting last."""

        def key(name):
            known = list(self.criteria)
            return (
                self.kind(name) == REPORTING,
                name not in LEARNING_GOALS,
                known.index(name) if name in known else len(known),
                name,
            )

        return sorted(set(criteria), key=key)

    # grade
    def grade_for(self, course_levels: dict[str, str | None]) -> float | None:
        """The grade on 20 from the course-level level of every criterion."""
        technical = [lv for c, lv in course_levels.items() if self.is_technical(c) and lv is not None]
        if not technical:
            return None
        points = self.grade.get("technical", {})
        base = sum(float(points[lv]) for lv in technical) / len(technical)
        adjust = self.grade.get("reporting_adjustment", {})
        base += sum(
            float(adjust.get(lv, 0))
            for c, lv in course_levels.items()
            if not self.is_technical(c) and lv is not None
        )
        if not all(self.at_least_proficient(lv) for lv in technical):
            base = min(base, float(self.grade.get("fail_cap", 9)))
        return round(max(0.0, min(20.0, base)), 1)

    @property
    def pass_mark(self) -> float:
        return float(self.grade.get("pass_mark", 10))

    # demos and schedule
    @property
    def timezone(self) -> str:
        return self.demos.get("timezone", TIMEZONE)

    @property
    def module_weeks(self) -> dict[str, int]:
        return {k: int(v) for k, v in (self.schedule.get("weeks") or {}).items()}


def find_rubric(course=None) -> Path:
    """The course's rubric.yaml (in the course folder, else the one the package ships)."""
    if course is None:
        try:
            from mlops_course.course import Course

            course = Course.find()
        except Exception:
            course = None
    if course is not None and (Path(course.root) / "rubric.yaml").is_file():
        return Path(course.root) / "rubric.yaml"
    return data_file("rubric.yaml")


def load_rubric(path: str | Path | None = None, course=None) -> Rubric:
    """Read and check rubric.yaml (the course's one when ``path`` is None)."""
    path = Path(path) if path else find_rubric(course)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RubricError(f"rubric file not found: {path}") from None
    if not isinstance(data, dict):
        raise RubricError(f"{path}: expected a mapping at the top level")
    levels = [
        Level(str(lv["id"]), str(lv.get("label", lv["id"])), float(lv["min"]))
        for lv in data.get("levels") or []
    ]
    if len(levels) < 2 or levels[0].id != NYP or PROFICIENT not in [lv.id for lv in levels]:
        raise RubricError(f"{path}: `levels` must start with {NYP!r} and include {PROFICIENT!r}")
    if any(b.min < a.min for a, b in zip(levels, levels[1:])):
        raise RubricError(f"{path}: level thresholds must not decrease")
    criteria = data.get("criteria") or {}
    for name, spec in criteria.items():
        kind = (spec or {}).get("kind", TECHNICAL)
        if kind not in (TECHNICAL, REPORTING):
            raise RubricError(f"{path}: criterion {name}: kind must be technical or reporting, not {kind!r}")
    grade = data.get("grade") or {}
    for part in ("technical", "reporting_adjustment"):
        missing = [lv.id for lv in levels if lv.id not in (grade.get(part) or {})]
        if missing:
            raise RubricError(f"{path}: grade.{part} lacks levels {missing}")
    return Rubric(
        levels=levels,
        criteria={k: dict(v or {}) for k, v in criteria.items()},
        default_kind=data.get("default_module_criterion_kind", TECHNICAL),
        grade=grade,
        demos=data.get("demos") or {},
        schedule=data.get("schedule") or {},
    )


def notebook_goals(path: str | Path) -> dict[str, CellGoal]:
    """grade_id -> CellGoal for every grade cell of a (source) notebook."""
    nb = json.loads(Path(path).read_text())
    goals: dict[str, CellGoal] = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        grader = meta.get("nbgrader") or {}
        if not grader.get("grade"):
            continue
        ours = meta.get("mlops_course") or {}
        goal = ours.get("learning_goal")
        if goal not in LEARNING_GOALS:
            warnings.warn(
                f"{path}: grade cell {grader.get('grade_id')} names no learning goal "
                f"(metadata.mlops_course.learning_goal); counted as {UNMAPPED!r}",
                stacklevel=2,
            )
            goal = UNMAPPED
        goals[grader["grade_id"]] = CellGoal(
            grade_id=grader["grade_id"],
            goal=goal,
            criterion=ours.get("criterion"),
            cell_type=cell.get("cell_type", "code"),
            max_score=float(grader.get("points") or 0),
        )
    return goals


def course_goals(course, modules=None) -> dict[str, dict[str, CellGoal]]:
    """module -> grade_id -> CellGoal, from source/<id>/<id>.ipynb."""
    modules = modules or course.assignments()
    found = {}
    for module in modules:
        path = course.source_notebook(module)
        if path.is_file():
            found[module] = notebook_goals(path)
    return found
