"""What labs and grading both run on: the Docker engine and the course base image,
the names and labels of the resources a run creates, processes and ports, atomic
files and cached templates. Imports nothing of labs, grading or reporting."""
