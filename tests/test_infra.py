"""infra: what labs and grading both run on (cached templates, atomic files, processes)."""

from __future__ import annotations

import subprocess
import sys

from mlops_course.infra.files import write_atomic
from mlops_course.infra.processes import free_port, stop_process
from mlops_course.infra.templates import cached_folder


def test_template_is_built_once_and_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_COURSE_CACHE", str(tmp_path))
    calls = []

    def build(folder):
        calls.append(folder)
        (folder / "db").write_text("x")

    first = cached_folder("thing-1", build)
    second = cached_folder("thing-1", build)
    assert first == second == tmp_path / "templates" / "thing-1" and len(calls) == 1
    assert (first / "db").read_text() == "x"

    def broken(folder):
        raise RuntimeError("no")

    assert cached_folder("thing-2", broken) is None  # falls back, never raises
    monkeypatch.setenv("MLOPS_COURSE_CACHE", "/proc/not-writable")
    assert cached_folder("thing-3", build) is None


def test_write_atomic_replaces_a_file_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "result.json"
    write_atomic(target, "first")
    write_atomic(target, b"second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_stop_process_ends_a_process_that_ignores_sigterm():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    stop_process(process, timeout=1)
    assert process.poll() is not None
    stop_process(process)  # a stopped process: nothing to do


def test_free_port_is_free_on_loopback():
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
