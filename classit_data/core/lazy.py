"""Package attributes imported on first use.

The CLI reads every stage's settings at start-up; the code that does a stage's work (polars, pyarrow,
mwparserfromhell, jinja2, datasketch) is imported only when that stage runs, so that a command, and every
worker process it starts, is ready in a fraction of a second.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_attributes(package: str, homes: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: ``name`` comes from submodule ``homes[name]`` when first asked."""

    def __getattr__(name: str) -> object:
        if name in homes:
            return getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
