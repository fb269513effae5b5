"""`grade --scheduler`: m0_setup submissions executed on a real Dask cluster (loopback
only) score exactly as on the local worker pool, with shared or shipped working folders
and with or without the sandbox; a worker that dies mid-run loses no other submission;
clusters that cannot grade (unreachable, no worker, wrong environment) fail clearly; the
local path never imports dask; the Kubernetes manifests of docs/scale-out.md are valid."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import append_to_cells, ensure_released, replace_cells, require_parts

from mlops_course.grading.execution.dask_cluster import KILLED_REASON, DaskExecutor, DaskSetupError
from mlops_course.grading.execution.jobs import ExecutionJob
from mlops_course.grading.pipeline import Options, grade

A = "m0_setup"
KILL_PARENT = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"


def put(course, student, nb):
    folder = course.submission_dir(student, A)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{A}.ipynb"))


def source_nb(course):
    return nbformat.read(str(course.source_notebook(A)), as_version=4)


def comparable(result):
    return (
        result.student,
        result.status,
        result.score,
        result.max_score,
        result.seed,
        result.reason,
        result.cells,
    )


@pytest.fixture(scope="module")
def cluster():
    """An 'existing' cluster, as a lecturer would start one: 2 worker processes, loopback only."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(
        {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
    ):
        local = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
        )
    yield local
    local.close()


@pytest.fixture(scope="module")
def pool_results(course):
    """A correct, a blank and a partly wrong submission graded on the local pool (no Dask)."""
    ensure_released(course, A)
    good = source_nb(course)
    put(course, "dask-good", good)
    put(course, "dask-blank", nbformat.read(str(course.release_notebook(A)), as_version=4))
    wrong = {
        "q_cace": "q_cace = 'cache_compute'",
        "q_pinning": "q_pinning = 'faster'",
    }  # well formed, not right
    put(course, "dask-wrong", append_to_cells(good, wrong))
    cheat = "q_cace = 'z'\nget_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"
    put(course, "dask-tampered", replace_cells(good, {"q_cace": cheat}))
    return grade(course, A, STUDENTS, Options(sandbox=False, workers=2, progress=False, force=True))


STUDENTS = ["dask-good", "dask-blank", "dask-wrong", "dask-tampered"]


@pytest.mark.slow
def test_a_local_dask_cluster_scores_exactly_like_the_local_pool(course, pool_results):
    dask = grade(
        course, A, STUDENTS, Options(sandbox=False, workers=2, progress=False, scheduler="local", force=True)
    )
    assert [comparable(r) for r in dask] == [comparable(r) for r in pool_results]
    good, blank, wrong, tampered = dask
    assert good.status == "graded" and good.reason is None and good.score > 0
    assert wrong.score == good.score - 2
    assert blank.score < wrong.score
    assert tampered.status == "tampered" and tampered.score == 0  # the kernel guard on Dask workers


@pytest.mark.slow
def test_shipping_the_files_to_workers_that_share_no_disk_gives_the_same_scores(
    course, cluster, pool_results, monkeypatch
):
    """Workers without the course folder: working folders go as archives, executed
    notebooks come back with the results."""
    monkeypatch.setenv("MLOPS_COURSE_DASK_TRANSFER", "ship")
    shipped = grade(
        course,
        A,
        STUDENTS,
        Options(sandbox=False, progress=False, scheduler=cluster.scheduler_address, force=True),
    )
    assert [comparable(r) for r in shipped] == [comparable(r) for r in pool_results]


@pytest.mark.slow
def test_workers_killed_mid_run_lose_no_other_submission(course, cluster, tmp_path):
    """One notebook kills its Dask worker on its first run only: Dask re-runs it on a
    fresh worker and it is graded in full. Another kills its worker every time: it is
    reported (one second chance, then KilledWorker). The bystanders are all graded."""
    ensure_released(course, A)
    marker = tmp_path / "killed-once"
    once = (
        f"import os, signal, pathlib\nmarker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n    marker.touch()\n    os.kill(os.getppid(), signal.SIGKILL)"
    )
    good = source_nb(course)
    put(course, "dask-dies-once", append_to_cells(good, {"q_small_box": once}))
    put(course, "dask-kills-worker", replace_cells(good, {"q_small_box": KILL_PARENT}))
    for n in range(2):
        put(course, f"dask-bystander-{n}", good)
    students = ["dask-dies-once", "dask-kills-worker", "dask-bystander-0", "dask-bystander-1"]
    pids_before = set(_worker_pids(cluster))

    results = {
        r.student: r
        for r in grade(
            course,
            A,
            students,
            Options(sandbox=False, progress=False, scheduler=cluster.scheduler_address, force=True),
        )
    }

    assert marker.exists(), "the worker was never killed: the test proves nothing"
    assert set(_worker_pids(cluster)) != pids_before  # worker processes were replaced
    killer = results.pop("dask-kills-worker")
    assert (killer.status, killer.reason, killer.score) == ("error", KILLED_REASON, 0)
    full = results["dask-bystander-0"].score
    assert full > 0
    assert {s: (r.status, r.score, r.reason) for s, r in results.items()} == {
        s: ("graded", full, None) for s in ["dask-dies-once", "dask-bystander-0", "dask-bystander-1"]
    }


SANDBOX_PROBE = (
    "import os\nq_small_box = 'ml_code' if os.getuid() == 65534 and not os.path.exists({course!r}) else 'x'"
)


@pytest.mark.slow
@pytest.mark.parametrize("transfer", ["shared", "ship"])
def test_sandboxed_notebooks_on_a_local_dask_cluster_score_like_the_local_pool(
    course, pool_results, transfer, monkeypatch
):
    """With the sandbox (the default), each Dask task runs its notebook in the grading
    container of the worker's machine: same scores, and the notebook runs as nobody
    without the course folder (ship: from a copy unpacked on the worker)."""
    require_parts(["docker"])
    monkeypatch.setenv("MLOPS_COURSE_DASK_TRANSFER", transfer)
    probe = append_to_cells(source_nb(course), {"q_small_box": SANDBOX_PROBE.format(course=str(course.root))})
    put(course, "dask-sandbox-probe", probe)
    students = ["dask-good", "dask-sandbox-probe"]
    good, probed = grade(
        course, A, students, Options(workers=2, progress=False, scheduler="local", force=True)
    )
    assert comparable(good) == comparable(pool_results[0])
    assert probed.status == "graded" and probed.score == good.score, probed.reason


def test_the_pipeline_asks_dask_for_the_sandbox_unless_told_not_to():
    from mlops_course.grading import pipeline

    make_executor = pipeline.make_executor
    assert make_executor(Options(scheduler="tcp://127.0.0.1:9")).sandbox is not None
    assert make_executor(Options(scheduler="tcp://127.0.0.1:9", sandbox=False)).sandbox is None


def _worker_pids(cluster):
    import os

    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        return list(client.run(os.getpid).values())


@pytest.mark.slow
def test_a_scheduler_file_names_the_cluster(cluster, tmp_path):
    """`--scheduler FILE`: the file `dask scheduler --scheduler-file FILE` writes."""
    import json

    path = tmp_path / "scheduler.json"
    path.write_text(json.dumps({"address": cluster.scheduler_address}))
    client, started = DaskExecutor(str(path), sandbox=False)._client()
    try:
        assert started is None and client.scheduler.address == cluster.scheduler_address
        assert client.scheduler_info()["id"] == cluster.scheduler_info["id"]
    finally:
        client.close()


@pytest.mark.slow
def test_workers_without_the_course_package_are_a_clear_error_before_anything_runs(tmp_path):
    """A worker whose Python cannot import mlops_course (a wrong image) stops the run
    with a clear error before any job is sent."""
    import dask
    from distributed import LocalCluster

    worker_main = (
        "import sys; sys.modules['mlops_course'] = None\n"  # as if it were not installed
        "from distributed.cli.dask_worker import main; main()"
    )
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(n_workers=0, dashboard_address="127.0.0.1:0", host="127.0.0.1") as bare,
    ):
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                worker_main,
                bare.scheduler_address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            from distributed import Client

            with Client(bare.scheduler_address) as client:
                client.wait_for_workers(1, timeout=60)
            (tmp_path / "in.ipynb").write_text("{}")
            job = ExecutionJob(
                key="x/y/z",
                input=tmp_path / "in.ipynb",
                output=tmp_path / "out.ipynb",
                workdir=tmp_path,
                cell_timeout=5,
                wall_clock=5,
                env={},
            )
            ran = []
            with pytest.raises(DaskSetupError, match="grading environment") as error:
                DaskExecutor(bare.scheduler_address, sandbox=False).run([job], lambda *a: ran.append(a))
            assert "mlops_course" in str(error.value) and ran == []
        finally:
            worker.kill()
            worker.wait(timeout=30)


def test_a_cluster_without_workers_reports_every_job_instead_of_hanging(tmp_path):
    from distributed import LocalCluster

    (tmp_path / "in.ipynb").write_text("{}")
    jobs = [
        ExecutionJob(
            key=f"s{n}/a/a",
            input=tmp_path / "in.ipynb",
            output=tmp_path / f"out{n}.ipynb",
            workdir=tmp_path,
            cell_timeout=5,
            wall_clock=5,
            env={},
        )
        for n in range(3)
    ]
    done = []
    with LocalCluster(n_workers=0, dashboard_address="127.0.0.1:0", host="127.0.0.1") as empty:
        DaskExecutor(empty.scheduler_address, sandbox=False, no_worker_timeout=3).run(
            jobs, lambda job, outcome: done.append((job.key, outcome.status, outcome.reason))
        )
    assert sorted(done) == [
        (
            f"s{n}/a/a",
            "failed",
            f"not executed: the Dask cluster at {empty.scheduler_address} has had no worker for 3 s",
        )
        for n in range(3)
    ]


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    job = ExecutionJob(
        key="x/y/z",
        input=tmp_path / "in.ipynb",
        output=tmp_path / "out.ipynb",
        workdir=tmp_path,
        cell_timeout=5,
        wall_clock=5,
        env={},
    )
    with pytest.raises(DaskSetupError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout=2).run([job], lambda *a: None)


def test_the_local_path_never_imports_dask():
    code = (
        "import sys, mlops_course.grading.pipeline as p, mlops_course.grading.execution.dask_cluster\n"
        "p.make_executor(p.Options(sandbox=False, workers=2))\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]"


def _doc_yaml_blocks():
    import re

    import yaml

    text = (Path(__file__).resolve().parents[1] / "docs" / "scale-out.md").read_text()
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]


def test_the_kubernetes_manifests_in_the_scale_out_doc_are_valid():
    """Core kinds are checked against Kubernetes' schemas (strict: no unknown field); the
    DaskCluster's scheduler and worker pod specs and its service are checked as a Pod
    and a Service."""
    import kubernetes_validate

    docs = _doc_yaml_blocks()
    kinds = [doc.get("kind", "helm values") for doc in docs]
    assert kinds == ["DaskCluster", "NetworkPolicy", "helm values", "PersistentVolumeClaim"]
    checked = []
    for doc in docs:
        if doc.get("kind") == "DaskCluster":
            spec = doc["spec"]
            assert spec["worker"]["replicas"] >= 1
            for part in ("worker", "scheduler"):
                checked.append(
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {"name": part},
                        "spec": spec[part]["spec"],
                    }
                )
            checked.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "scheduler"},
                    "spec": spec["scheduler"]["service"],
                }
            )
            worker_args = spec["worker"]["spec"]["containers"][0]["args"]
            assert worker_args[worker_args.index("--nthreads") + 1] == "1"
        elif "kind" in doc:
            checked.append(doc)
        else:
            assert doc["worker"]["threads_per_worker"] == 1 and doc["jupyter"]["enabled"] is False
    for manifest in checked:
        kubernetes_validate.validate(manifest, "1.35", strict=True)
