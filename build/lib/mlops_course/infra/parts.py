"""The status of a system part (Docker engine, Prometheus, actionlint, a cluster...):
one shape for every part, so notebooks, ``doctor`` and the tests read them alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PartStatus:
    available: bool
    message: str  # what is there, or what is missing and how to install it
    version: str | None = None
    location: Path | None = None  # where the part was found, when that matters
