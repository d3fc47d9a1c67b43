"""Ship the kernel half to a student's kernel (host side only; never shipped itself).

The grader package is not visible inside the sandbox, so the modules of grader.kernel
travel as source text: a small meta-path finder serves them as the package
`_grader_kernel` from a dict of sources (relative imports work as on the host), then
`_grader_kernel.boot.install(config)` runs. The code runs as one silent execution in a
function of its own, leaving nothing in the student's globals.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

PACKAGE = "_grader_kernel"
MODULES = (
    "__init__", "protocol", "codec", "recorder", "wrappers", "imports", "datasets", "server",
    "keras_describe", "keras_trace", "keras_ops", "colab", "gpu", "boot",
)

_LOADER = '''
def _grader_load(sources, config, PACKAGE):
    import importlib, importlib.abc, importlib.util, json, sys

    class _Shipped(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            key = "__init__" if fullname == PACKAGE else fullname[len(PACKAGE) + 1:]
            if fullname != PACKAGE and not fullname.startswith(PACKAGE + "."):
                return None
            if key not in sources:
                return None
            return importlib.util.spec_from_loader(fullname, self, is_package=fullname == PACKAGE)

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            name = module.__name__
            key = "__init__" if name == PACKAGE else name[len(PACKAGE) + 1:]
            exec(compile(sources[key], "<grader-kernel/" + key + ".py>", "exec"), module.__dict__)

    finder = _Shipped()
    sys.meta_path.append(finder)
    try:
        for key in sources:
            importlib.import_module(PACKAGE if key == "__init__" else PACKAGE + "." + key)
    finally:
        sys.meta_path.remove(finder)
    sys.modules[PACKAGE + ".boot"].install(json.loads(config))
'''


@cache
def sources() -> dict[str, str]:
    pkg = resources.files("grader.kernel")
    return {name: pkg.joinpath(name + ".py").read_text(encoding="utf-8") for name in MODULES}


def bootstrap_code(config: dict[str, Any]) -> str:
    """Code for one silent execution that installs the kernel half with `config`
    (protocol.BootConfig.to_json())."""
    return _LOADER + f"_grader_load({sources()!r}, {json.dumps(config)!r}, {PACKAGE!r})\ndel _grader_load\n"
