"""Checks of a Dependabot configuration (``.github/dependabot.yml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_course.errors import WorkflowError
from mlops_course.labs.cicd.yaml_schema import load_mapping, schema_errors


@dataclass
class DependabotReport:
    """Problems found in a Dependabot config, each a sentence that says how to fix it."""

    doc: Any = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def hints(self) -> str:
        return " | ".join(self.problems) if self.problems else "no problems"


def check_dependabot(
    text: str, ecosystem: str = "github-actions", interval: str = "weekly"
) -> DependabotReport:
    """Schema-valid Dependabot v2 config that updates ``ecosystem`` on the given schedule."""
    report = DependabotReport()
    try:
        doc = load_mapping(text)
    except WorkflowError as exc:
        report.problems.append(str(exc))
        return report
    report.doc = doc
    report.problems.extend(f"schema: {e}" for e in schema_errors(doc, "dependabot"))
    updates = [u for u in (doc.get("updates") or []) if isinstance(u, dict)]
    entries = [u for u in updates if u.get("package-ecosystem") == ecosystem]
    if not entries:
        report.problems.append(
            f"no update entry with `package-ecosystem: {ecosystem}` "
            "(that is the name Dependabot uses for workflow actions)."
        )
    for entry in entries:
        schedule = entry.get("schedule") if isinstance(entry.get("schedule"), dict) else {}
        if schedule.get("interval") != interval:
            report.problems.append(
                f"the {ecosystem} entry should have `schedule: interval: {interval}`, "
                f"found {schedule.get('interval')!r}."
            )
        if entry.get("directory") not in ("/", None) and not entry.get("directories"):
            report.problems.append(
                f"the {ecosystem} entry should use `directory: /` (Dependabot "
                "finds .github/workflows from the repository root)."
            )
    return report
