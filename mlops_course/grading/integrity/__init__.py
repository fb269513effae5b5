"""Grades a lecturer can sign: what keeps a submission from changing how it is graded.

- ``kernel_guard`` runs inside the graded kernel: before every test cell it puts back
  what a fresh kernel has and reports what it had to put back;
- ``guard`` is its other half, in the grader: it installs the guard, asks it before
  every test cell and checks its signed answer;
- ``canaries`` adds checks that must fail, made to look like the notebook's own tests;
  one that passes means the kernel was made to skip or alter cells;
- ``scan`` reads the student's cells for code that changes how later cells run.

Any of them finding something makes the submission ``tampered``: no auto-graded points
until the lecturer reviews it (docs/grading-integrity.md)."""
