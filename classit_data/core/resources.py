"""Where the files that ship with the package live (prompts, cards, sample corpora).

In a source checkout they are the top-level folders; in an installed wheel they are copied into
``classit_data/_resources``.
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parents[1]
_ROOTS = (_PKG.parent, _PKG / "_resources")


def resource_path(*parts: str) -> Path:
    for root in _ROOTS:
        p = root.joinpath(*parts)
        if p.exists():
            return p
    return _ROOTS[0].joinpath(*parts)


#: the folders of shipped files (and the package itself), by name under a root
_SHIPPED = ("prompts", "cards", "samples")
#: how a record names a file that ships with the package: the same name on every machine
PACKAGE_PREFIX = "package:"


def portable_name(path: str | Path, record_dir: str | Path) -> str:
    """How a step record names a file it read or wrote: ``package:NAME`` for a file shipped with the package,
    else its path relative to the record's folder, so that a folder moved or copied elsewhere still links up
    and no record carries the absolute paths of the machine that wrote it."""
    p = Path(os.path.abspath(path))
    for root in reversed(_ROOTS):  # a wheel's _resources first: one name in a checkout and in a wheel
        for base in dict.fromkeys((root, root.resolve())):
            if p.is_relative_to(base) and p.relative_to(base).parts[0] in _SHIPPED + (_PKG.name, "_resources"):
                return PACKAGE_PREFIX + p.relative_to(base).as_posix()
    return Path(os.path.relpath(p, os.path.abspath(record_dir))).as_posix()


def from_record(name: str | Path, record_dir: str | Path) -> Path:
    """The file a record names (:func:`portable_name`; an absolute path, as older records hold, stays one)."""
    text = str(name)
    if text.startswith(PACKAGE_PREFIX):
        return resource_path(*Path(text[len(PACKAGE_PREFIX) :]).parts)
    return Path(record_dir) / text
