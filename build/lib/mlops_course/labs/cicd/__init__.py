"""m2_cicd: GitHub Actions workflow and Dependabot checks (expressions and the workflow
read by GitHub's own parser through Node.js), actionlint, and a local runner for a
workflow job."""
