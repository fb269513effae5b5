"""m1_docker: build, run, optimise and publish a model-serving image (Docker SDK,
Compose v1, a local registry)."""
