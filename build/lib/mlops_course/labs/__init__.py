"""The helpers the assignment notebooks import, one folder per lab topic. A lab helper
never imports grading, reporting, student or hub code: it is what a student installs."""
