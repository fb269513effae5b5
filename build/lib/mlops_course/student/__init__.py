"""What a student runs on their own work: the self-check of a notebook (`mlops-course
check`) and self-study progress (`mlops-course progress`, my_progress.ipynb)."""
