"""Input format names: what a user types for ``--format``, as the name a stage's readers know it by."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from classit_data.core.errors import InputError


def normalize_format(fmt: str | None, formats: Sequence[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """``fmt`` (any case, spaces around it) as one of ``formats``, an alias first mapped by ``aliases``.

    None stays None (the stage detects the format); any other name is an ``InputError`` that lists ``formats``.
    """
    if fmt is None:
        return None
    key = fmt.strip().lower()
    key = (aliases or {}).get(key, key)
    if key not in formats:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(formats)}")
    return key
