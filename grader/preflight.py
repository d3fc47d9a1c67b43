"""Before a batch: can the kernel's Python run this assignment's notebooks at all?

A kernel environment without TensorFlow grades a whole class of correct notebooks as
ModuleNotFoundErrors. So before any notebook runs, the interpreter kernels will use is
started once (a plain subprocess, isolated mode, with a time limit) and imports
ipykernel and every module the assignment `requires`. Anything missing or broken is
one line naming the interpreter and the modules, and the batch does not start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import GraderError
from .i18n import msg

__all__ = ["KernelEnvironmentError", "check_kernel_python", "kernel_python"]

TIMEOUT_S = 120.0
ALWAYS = ("ipykernel",)  # what every kernel needs, whatever the assignment

# Run by the interpreter under test: import each module, report JSON on the last line.
_PROBE = """\
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        out[name] = None
    except ModuleNotFoundError as exc:
        own = exc.name is not None and (name == exc.name or name.startswith(exc.name + "."))
        out[name] = "missing" if own else f"needs {exc.name}, which is missing"
    except BaseException as exc:
        out[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}".rstrip(": ")
sys.stdout.flush()
print("\\n" + json.dumps({"modules": out, "version": sys.version.split()[0], "prefix": sys.prefix}))
"""

# Quiet start-up: the same switches the kernel gets (see grader.execute.KERNEL_ENV).
_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "agg"}


class KernelEnvironmentError(GraderError):
    """The kernel's Python cannot run this assignment's notebooks; nothing was graded."""


def kernel_python(path: Path | str | None) -> str:
    """The interpreter kernels run: `path` as given (`--kernel-python`) made absolute
    (not resolved: a venv's `bin/python` is a link whose target is another prefix), or
    the grader's own."""
    if path is None:
        return sys.executable
    return os.path.abspath(os.path.expanduser(str(path)))


def check_kernel_python(
    python: Path | str, requires: Sequence[str] = (), *, timeout: float = TIMEOUT_S
) -> dict[str, str]:
    """Import ipykernel and `requires` in `python`; return {"version", "prefix"} of that
    interpreter, or raise KernelEnvironmentError with one line."""
    python = str(python)
    modules = list(dict.fromkeys([*ALWAYS, *requires]))
    where = f"kernel Python {python}"
    if not os.path.isfile(python):
        raise KernelEnvironmentError(
            msg(
                f"{where}: no such file; pass --kernel-python /path/to/venv/bin/python",
                f"커널 Python {python}: 그런 파일이 없습니다; --kernel-python /path/to/venv/bin/python 으로 주세요",
            )
        )
    if not os.access(python, os.X_OK):
        raise KernelEnvironmentError(
            msg(f"{where}: not executable", f"커널 Python {python}: 실행할 수 없는 파일입니다")
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(_ENV)
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _PROBE, *modules],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise KernelEnvironmentError(
            msg(
                f"{where}: importing {', '.join(modules)} took over {timeout:g} s; is that environment working?",
                f"커널 Python {python}: {', '.join(modules)}을(를) 불러오는 데 {timeout:g}초 넘게 걸렸습니다; "
                "그 환경이 제대로 동작하나요?",
            )
        ) from None
    except OSError as exc:
        raise KernelEnvironmentError(
            msg(
                f"{where}: cannot be started ({exc.strerror or exc})",
                f"커널 Python {python}: 시작할 수 없습니다 ({exc.strerror or exc})",
            )
        ) from None
    report = _last_json(proc.stdout)
    if report is None:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()
        why = tail[-1][:200] if tail else f"exit code {proc.returncode}"
        raise KernelEnvironmentError(
            msg(
                f"{where}: is not a working Python 3 ({why})",
                f"커널 Python {python}: 동작하는 Python 3이 아닙니다 ({why})",
            )
        )
    problems = report.modules
    missing = [m for m in modules if problems.get(m) == "missing"]
    broken = [f"{m} ({problems[m]})" for m in modules if problems.get(m) not in (None, "missing")]
    if missing or broken:
        parts, parts_ko = [], []
        if missing:
            parts.append(f"cannot import {', '.join(missing)}")
            parts_ko.append(f"{', '.join(missing)}을(를) 불러올 수 없고")
        if broken:
            parts.append(f"fails to import {'; '.join(broken)}")
            parts_ko.append(f"{'; '.join(broken)}을(를) 불러오다 실패하여")
        hint = "install them into that environment or name another with --kernel-python /path/to/venv/bin/python"
        hint_ko = "그 환경에 설치하거나 --kernel-python /path/to/venv/bin/python 으로 다른 환경을 주세요"
        raise KernelEnvironmentError(
            msg(
                f"{where} {' and '.join(parts)}; nothing was graded: {hint}",
                f"커널 Python {python}은(는) {' '.join(parts_ko)} 아무것도 채점하지 않았습니다: {hint_ko}",
            )
        )
    return {"version": report.version, "prefix": report.prefix}


@dataclass(frozen=True)
class _Report:
    modules: dict[str, str | None]  # None: imported; else why not
    version: str
    prefix: str


def _last_json(stdout: bytes) -> _Report | None:
    lines = stdout.decode(errors="replace").strip().splitlines()
    if not lines:
        return None
    try:
        value = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("modules"), dict):
        return None
    modules = {str(k): (None if v is None else str(v)) for k, v in value["modules"].items()}
    return _Report(modules, str(value.get("version", "")), str(value.get("prefix", "")))
