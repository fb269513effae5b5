"""mlops-course: an auto-graded Machine Learning Operations course.

The package, by layer (a layer imports only the layers below it):

- ``cli``, ``demo``, ``doctor``: the ``mlops-course`` command;
- ``grading`` (release, prepare, execute, score, feedback, export), ``reporting``
  (rubric levels, schedule, roster, class report, resit), ``student`` (self-check,
  progress), ``hub`` (JupyterHub set-up): the course's applications;
- ``labs/<topic>``: the helpers each module's notebook imports, nothing else;
- ``infra``: what labs and grading both run on (Docker engine, base image, processes);
- ``settings``, ``errors``, ``course``: ids, paths, environment variables, the error
  base class, the course folder.

docs/architecture.md draws the layers and follows a submission through ``grade``.
"""

__version__ = "0.1.0"
