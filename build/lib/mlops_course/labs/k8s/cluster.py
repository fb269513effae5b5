"""Apply manifests to a real Kubernetes cluster, only where one is configured.

No cluster is needed for the course: without a kubeconfig (``KUBECONFIG`` or
``~/.kube/config``), or when its API server does not answer, ``cluster_status`` says
so and the notebook skips the cluster step instead of failing. With a cluster, the
manifests go into a dedicated namespace named after the run (``mlops-course-<run id>``),
the rollout is awaited with a timeout, and the namespace is deleted afterwards.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from mlops_course.infra.parts import PartStatus
from mlops_course.infra.resources import run_id

NO_CLUSTER_HINT = (
    "No Kubernetes cluster is configured, so the cluster step is skipped (not failed). "
    "To try it, start a local cluster (e.g. `kind create cluster` or `minikube start`), "
    "check `kubectl get nodes`, and run the notebook again; the kubeconfig is read from "
    "$KUBECONFIG or ~/.kube/config."
)


def kubeconfig_path() -> Path | None:
    """The first kubeconfig file that exists ($KUBECONFIG may list several)."""
    candidates = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    candidates.append(str(Path.home() / ".kube" / "config"))
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def _api_client(path: Path):
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=configuration)
    configuration.retries = 0
    return client.ApiClient(configuration)


def cluster_status(timeout: float = 5.0) -> PartStatus:
    """Is a cluster configured and answering? Never raises."""
    path = kubeconfig_path()
    if path is None:
        return PartStatus(False, NO_CLUSTER_HINT)
    try:
        from kubernetes import client
    except ImportError:
        return PartStatus(
            False,
            "The kubernetes Python client is not installed "
            "(`pip install kubernetes`, part of the course environment); "
            "the cluster step is skipped.",
        )
    try:
        api = _api_client(path)
        info = client.VersionApi(api).get_code(_request_timeout=timeout)
        api.close()
    except Exception as exc:  # config errors, connection refused, TLS, auth...
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        return PartStatus(
            False,
            f"The kubeconfig {path} is there, but no cluster answers "
            f"({type(exc).__name__}: {reason}); the cluster step is skipped. "
            "Check `kubectl get nodes`.",
        )
    return PartStatus(True, f"Kubernetes {info.git_version} answers ({path}).", info.git_version)


def namespace_name(prefix: str = "mlops-course") -> str:
    """A namespace unique to this run (a DNS label: at most 63 characters)."""
    return f"{prefix}-{run_id()}"[:63].rstrip("-")


def apply_and_wait(
    docs: list[dict[str, Any]], namespace: str | None = None, timeout: float = 120.0, keep: bool = False
) -> dict[str, Any]:
    """Create ``docs`` in a fresh namespace, wait until every Deployment has all its
    replicas available, then delete the namespace (unless ``keep``).

    Returns ``{"namespace", "created", "ready", "message"}``. Raises RuntimeError when no
    cluster answers (call ``cluster_status`` first) and TimeoutError after ``timeout``."""
    status = cluster_status()
    if not status.available:
        raise RuntimeError(status.message)
    from kubernetes import client, utils

    namespace = namespace or namespace_name()
    api = _api_client(kubeconfig_path())
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(
                name=namespace, labels={"org.mlops-course": "true", "org.mlops-course.run": run_id()}
            )
        )
    )
    created: list[str] = []
    try:
        for doc in docs:
            utils.create_from_dict(api, doc, namespace=namespace)
            created.append(f"{doc['kind']}/{doc['metadata']['name']}")
        deployments = [d["metadata"]["name"] for d in docs if d.get("kind") == "Deployment"]
        deadline = time.monotonic() + timeout
        pending = set(deployments)
        while pending:
            for name in sorted(pending):
                dep = apps.read_namespaced_deployment_status(name, namespace, _request_timeout=10)
                want = dep.spec.replicas or 0
                if (dep.status.available_replicas or 0) >= want and (
                    dep.status.updated_replicas or 0
                ) >= want:
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(
                    f"rollout of {sorted(pending)} not finished after {timeout:.0f} s; "
                    f"hint: `kubectl -n {namespace} describe pods` (image pull? probe "
                    "path? resources?)"
                )
            if pending:
                time.sleep(2)
        return {
            "namespace": namespace,
            "created": created,
            "ready": deployments,
            "message": f"{len(created)} objects created in {namespace}; "
            f"{len(deployments)} Deployment(s) rolled out.",
        }
    finally:
        if not keep:
            try:
                core.delete_namespace(namespace, _request_timeout=10)
            except Exception:  # best effort: the namespace may be gone already
                pass
        api.close()
