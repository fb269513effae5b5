"""m3_workflow: Prefect running offline on a local API, and MLflow tracking and the
model registry on local files."""
