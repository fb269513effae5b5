"""JupyterHub for the course: setting up a course machine, and the hub's own classes.

As root, ``python -m mlops_course.hub setup --demo-users`` (what ``make hub`` runs), in
the course folder (or with ``--course``):

1. builds the single-user environment from Debian's ``/usr/bin/python3``: a venv under
   ``$MLOPS_HUB_PREFIX/venv`` (default ``/opt/mlops-course/venv``), readable by all,
   with the course package and its pins (``--profile full``, the default), or only what
   a student needs for ``m0_setup`` plus nbgrader and JupyterHub (``--profile light``:
   ~200 MB instead of ~2.4 GB, used by the browser test);
2. switches nbgrader's JupyterLab extensions for the roles: students get the
   Assignments list and Validate; instructors get a config folder that enables
   Formgrader, Course List and Create Assignment again (``JUPYTER_CONFIG_PATH``, set by
   the hub's pre-spawn hook for members of the instructors group);
3. installs configurable-http-proxy from npm into ``$MLOPS_HUB_PREFIX/proxy``;
4. makes nbgrader's exchange (mode 1777), the system-wide ``nbgrader_config.py``
   (course id, exchange root), the course groups and the instructors' shared course
   folder;
5. with ``--demo-users``: the users ``mlc-instructor``, ``mlc-student1``,
   ``mlc-student2`` for a local run (passwords printed once and kept in
   ``$MLOPS_HUB_PREFIX/demo-passwords``, mode 0600).

Modules: ``settings`` (:class:`~mlops_course.hub.settings.HubSettings` and the
``MLOPS_HUB_*`` variables, read by setup and ``hub/jupyterhub_config.py`` alike),
``auth`` (groups, roles, the authenticator and the pre-spawn hook), ``env`` (the
single-user environment), ``setup`` (the machine), ``image`` (the notebook image for
Kubernetes), ``__main__`` (the command).
"""
