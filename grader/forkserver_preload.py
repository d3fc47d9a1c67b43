"""Imported by the fork server (grader.prefork) and nowhere else: importing it is the
warm-up that every forked worker inherits: the grading code and its libraries, and
matplotlib with its fonts, drawn once (grader.pictures.warm_up).

Beyond `grader.grade`, what a job imported on its own (the difference of sys.modules
before and after one cnn_filters job, 124 modules): IPython through the kernel spec
lookup when the kernel starts, pytest's built-in plugins when the checks' session
configures (pdb, faulthandler), numpy.random for the checks' inputs, the sandbox's
seccomp bindings. Imported here once, not per job.
"""

import ctypes.util  # noqa: F401
import faulthandler  # noqa: F401
import importlib
import pdb  # noqa: F401

import _pytest._argcomplete  # noqa: F401
import _pytest.config
import ipykernel.kernelspec  # noqa: F401
import IPython  # noqa: F401
import numpy.random  # noqa: F401
import zmq.utils.garbage  # noqa: F401

from . import answers, datastore, grade, worker  # noqa: F401  (the imports are the point)

for _name in _pytest.config.default_plugins:
    try:
        importlib.import_module(f"_pytest.{_name}")
    except ImportError:  # a plugin of another pytest version
        pass
try:
    import pyseccomp  # noqa: F401  (the sandbox's syscall filter, where it is installed)
except ImportError:
    pass

worker.warm_pictures()
