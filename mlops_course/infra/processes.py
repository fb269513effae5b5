"""Helper processes the labs start (Prometheus, a registry, ...): a free loopback port,
a child that dies with its parent, and a polite stop."""

from __future__ import annotations

import signal
import socket
import subprocess


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it; it can be taken
    before it is used, so callers retry on "address already in use")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def die_with_parent(signal_number: int = signal.SIGTERM) -> None:  # runs in the child before exec
    """Linux: the child gets ``signal_number`` when its parent (the notebook kernel) dies
    (SIGKILL for a child that may be stopped: a stopped process ignores SIGTERM)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal_number)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux, or no libc: the caller's clean-up must do
        pass


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; nothing if it already ended."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
