"""Where the files that ship with the package live (prompts, cards, sample corpora).

In a source checkout they are the top-level folders; in an installed wheel they are copied into
``classit_data/_resources``.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parents[1]
_ROOTS = (_PKG.parent, _PKG / "_resources")


def resource_path(*parts: str) -> Path:
    for root in _ROOTS:
        p = root.joinpath(*parts)
        if p.exists():
            return p
    return _ROOTS[0].joinpath(*parts)
