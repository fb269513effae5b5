"""Prefect 3 on this machine only: an ephemeral local API on SQLite, no Cloud, no network.

Call :func:`configure` **before** ``import prefect``: Prefect reads its settings when it
is imported. It points ``PREFECT_HOME`` (profiles, the local SQLite database, persisted
task results) at a fresh folder, removes any ``PREFECT_API_URL`` so that Prefect starts
its own temporary API server on 127.0.0.1, and turns telemetry off.

A fresh database needs its migrations (~8 s of CPU); a migrated copy is kept under
``<cache>/templates`` (:func:`mlops_course.settings.cache_dir`) and copied into
each new ``PREFECT_HOME``, so later runs start faster. Nothing breaks when that folder is
not writable: Prefect then migrates the fresh database itself.

After a flow ran, :func:`task_runs` reads its task runs, with their state history, from
the API: that is how the grader sees retries and cache hits (not from prints).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlops_course.infra.templates import cached_folder

OFFLINE_ENV = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
    # Background services a one-off local pipeline does not need (less CPU at start).
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
}
REMOVED_ENV = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE")


def _prefect_version() -> str:
    from importlib import metadata

    return metadata.version("prefect")


def _build_prefect_db(folder: Path) -> None:
    env = {**os.environ, **OFFLINE_ENV, "PREFECT_HOME": str(folder)}
    for name in REMOVED_ENV + ("PREFECT_API_DATABASE_CONNECTION_URL",):
        env.pop(name, None)
    prefect_cli = Path(sys.executable).with_name("prefect")
    command = [str(prefect_cli)] if prefect_cli.exists() else [sys.executable, "-m", "prefect"]
    subprocess.run(
        [*command, "server", "database", "upgrade", "-y"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    if not (folder / "prefect.db").exists():
        raise RuntimeError("the migrated database was not written")


def configure(home: str | Path | None = None, use_template: bool = True) -> Path:
    """Set up the environment for a local, offline Prefect; call before ``import prefect``.

    Returns the PREFECT_HOME in use (a new temporary folder unless ``home`` is given)."""
    if "prefect" in sys.modules:
        current = os.environ.get("PREFECT_HOME")
        if current and (home is None or Path(home) == Path(current)):
            return Path(current)  # already configured in this process (a re-run cell)
        raise RuntimeError(
            "prefect was imported before mlops_course.labs.workflow.prefect_local.configure(): "
            "restart the kernel and call configure() first."
        )
    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="prefect-home-"))
    home.mkdir(parents=True, exist_ok=True)
    for name in REMOVED_ENV + ("PREFECT_API_DATABASE_CONNECTION_URL",):
        os.environ.pop(name, None)
    os.environ.update(OFFLINE_ENV)
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(home / "storage")
    if use_template and not (home / "prefect.db").exists():
        template = cached_folder(f"prefect-{_prefect_version()}", _build_prefect_db)
        if template:
            shutil.copy(template / "prefect.db", home / "prefect.db")
    return home


@dataclass
class TaskRunInfo:
    """One task run as the API recorded it."""

    name: str
    task_name: str
    state: str  # final state name: Completed, Cached, Failed, ...
    state_type: str  # COMPLETED, FAILED, ...
    run_count: int  # how many times it ran (retries count)
    history: list[str] = field(default_factory=list)  # state names, oldest first
    duration: float = 0.0  # seconds it ran (total_run_time)
    cache_key: str | None = None

    @property
    def retried(self) -> bool:
        return self.run_count > 1 or any(s in {"Retrying", "AwaitingRetry"} for s in self.history)

    @property
    def cached(self) -> bool:
        return self.state == "Cached"


def _task_name(task_key: str, fallback: str) -> str:
    # task keys look like "train-6718ab"; run names like "train-0a7"
    base = task_key.rsplit("-", 1)[0] if task_key else ""
    return base or fallback.rsplit("-", 1)[0]


def task_runs(flow_run_id, expected: int | None = None, timeout: float = 30.0) -> list[TaskRunInfo]:
    """Task runs of a flow run with their state history, oldest first. Task run states
    reach the API through events, a moment after the flow returns: wait (up to
    ``timeout`` s) until ``expected`` runs (or all seen ones) are in a final state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    _drain_events()
    deadline = time.monotonic() + timeout
    infos: list[TaskRunInfo] = []
    with get_client(sync_client=True) as client:
        previous, stable = None, 0
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            snapshot = sorted((str(r.id), r.state.name if r.state else "") for r in runs)
            all_final = bool(runs) and all(r.state is not None and r.state.is_final() for r in runs)
            if expected is not None:
                done = all_final and len(runs) >= expected
            else:  # all final and nothing changed over the last two looks
                stable = stable + 1 if snapshot == previous else 0
                done = all_final and stable >= 2
            if done or time.monotonic() > deadline:
                break
            previous = snapshot
            time.sleep(0.3)
        for run in sorted(runs, key=lambda r: r.expected_start_time or r.created):
            history = [s.name for s in sorted(client.read_task_run_states(run.id), key=lambda s: s.timestamp)]
            infos.append(
                TaskRunInfo(
                    name=run.name,
                    task_name=_task_name(run.task_key, run.name),
                    state=run.state.name if run.state else "Unknown",
                    state_type=run.state.type.value if run.state else "UNKNOWN",
                    run_count=run.run_count,
                    history=history,
                    duration=float(run.total_run_time.total_seconds()) if run.total_run_time else 0.0,
                    cache_key=run.cache_key,
                )
            )
    return infos


def _drain_events(timeout: float = 10.0) -> None:
    """Wait until this process has sent the events it holds (task run states travel
    as events); best effort, never longer than ``timeout``."""
    import threading

    try:
        from prefect.events.worker import EventsWorker

        with EventsWorker._instance_cache_lock:
            instances = list(EventsWorker._instances.values())
    except Exception:
        return
    for instance in instances:
        waiter = threading.Thread(target=instance.wait_until_empty, daemon=True)
        waiter.start()
        waiter.join(timeout)


def flow_run_state(flow_run_id) -> str:
    """The final state name of a flow run (Completed, Failed, ...) as the API has it."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        return run.state.name if run.state else "Unknown"


class TransientFault:
    """A fault the notebook injects: ``check()`` raises ConnectionError the first
    ``times`` calls, then passes, like a network that comes back."""

    def __init__(self, times: int = 0):
        self.times = times
        self.calls = 0

    def arm(self, times: int = 1) -> TransientFault:
        self.times, self.calls = times, 0
        return self

    def check(self) -> None:
        self.calls += 1
        if self.calls <= self.times:
            raise ConnectionError(
                f"simulated transient failure {self.calls} of {self.times} (the data source did not answer)"
            )


def main(argv: list[str] | None = None) -> int:
    """``python -m mlops_course.labs.workflow.prefect_local --template``: prepare the template database."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--template", action="store_true", help="build the migrated Prefect database")
    args = parser.parse_args(argv)
    if args.template:
        target = cached_folder(f"prefect-{_prefect_version()}", _build_prefect_db)
        print(f"Prefect template database: {target or 'could not be built'}")
        from mlops_course.labs.workflow import tracking

        target = tracking.template()
        print(f"MLflow template database: {target or 'could not be built'}")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
