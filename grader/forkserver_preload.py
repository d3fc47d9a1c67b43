"""Imported by the fork server (grader.prefork) and nowhere else: importing it is the
warm-up that every forked worker inherits: the grading code and its libraries, and
matplotlib with its fonts, drawn once (grader.pictures.warm_up)."""

from . import grade, worker  # noqa: F401  (the imports are the point)

worker.warm_pictures()
