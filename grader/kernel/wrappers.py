"""The grader's wrappers (tracers, data set shims) and where they were installed.

A wrapper carries no attribute leading to what it wraps (no `__wrapped__`): only its
name, qualified name, module and docstring are copied from the original. The originals
and install sites are kept here, in the package's private state, for `unwrap` (a
function reached through several modules is wrapped once per module, never twice) and
for the integrity op (`replaced`). A closure still holds each original; Python offers no
way to hide it from code in the same process, and the report says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

_ORIGINALS: dict[int, Any] = {}  # id(wrapper) -> the function it wraps
_OURS: dict[int, Any] = {}  # id(wrapper) -> wrapper (kept alive so ids stay unique)
_SITES: list[tuple[str, Any, str, Any]] = []  # (label, owner, attribute, wrapper)


def make_like(wrapper: Callable[..., Any], original: Any) -> Callable[..., Any]:
    """Give `wrapper` the original's name and docstring, by hand; remember both."""
    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        try:
            setattr(wrapper, attr, getattr(original, attr))
        except (AttributeError, TypeError):
            pass
    _OURS[id(wrapper)] = wrapper
    _ORIGINALS[id(wrapper)] = original
    return wrapper


def is_ours(fn: Any) -> bool:
    return _OURS.get(id(fn)) is fn


def unwrap(fn: Any) -> Any:
    """The original behind one of our wrappers; anything else as it is."""
    return _ORIGINALS[id(fn)] if is_ours(fn) else fn


def label_of(owner: Any, attr: str) -> str:
    base = owner.__name__ if isinstance(owner, type(sys)) else f"{owner.__module__}.{owner.__qualname__}"
    return f"{base}.{attr}"


def install(owner: Any, attr: str, wrapper: Any) -> None:
    """Set `owner.attr = wrapper` and watch that it stays."""
    setattr(owner, attr, wrapper)
    watch(owner, attr, wrapper)


def watch(owner: Any, attr: str, wrapper: Any) -> None:
    label = label_of(owner, attr)
    if not any(site[0] == label and site[3] is wrapper for site in _SITES):
        _SITES.append((label, owner, attr, wrapper))


def replaced() -> list[str]:
    """Labels ("keras.utils.to_categorical", "...TensorFlowTrainer.fit") of every site
    where our wrapper is no longer the object in place."""
    out = []
    for label, owner, attr, wrapper in _SITES:
        try:
            current = getattr(owner, attr, None)
        except Exception:
            current = None
        if current is not wrapper and label not in out:
            out.append(label)
    return out


def reset() -> None:
    """Forget every wrapper (the host's unit tests)."""
    _ORIGINALS.clear()
    _OURS.clear()
    _SITES.clear()
