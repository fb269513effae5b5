"""m2_cicd: GitHub Actions workflow and Dependabot checks, actionlint, and a local
runner for a workflow job."""
