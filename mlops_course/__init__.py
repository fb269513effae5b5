"""mlops-course: an auto-graded Machine Learning Operations course.

The package holds the grading pipeline (``mlops_course.grading``), the command line
(``mlops-course``) and the helpers the assignment notebooks import, one module per
concern, so that a notebook reads as the lesson and its tests."""

__version__ = "0.1.0"

LEARNING_GOALS = {
    "LG1": "describe CI/CD principles in the context of ML",
    "LG2": "put an ML model into production and monitor it using CI/CD principles",
    "LG3": "describe the challenges and solutions for ML on devices with limited compute",
    "LG4": "run an ML model on a device with limited compute (TensorFlow Lite)",
    "LG5": "use virtualization and containerization to deploy an ML model",
}

# Assignment ids in course order (the study guide's modules).
MODULES = [
    "m0_setup",
    "m1_docker",
    "m2_cicd",
    "m3_workflow",
    "m4_kubernetes",
    "m5_edge",
    "m6_tuning",
    "m7_monitoring",
]
