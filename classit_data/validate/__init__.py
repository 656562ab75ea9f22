"""``validate``: checks, deduplication and the report; rejected rows are kept aside with their reason.

Modules, imported in one direction: ``config`` (thresholds) -> ``dedup`` (exact and near duplicates) ->
``checks`` (every reason, declared once, and the features they read) -> ``inputs`` (reading) -> ``report``
-> ``validate`` (the steps of ``validate_rows``).
"""

from __future__ import annotations

from classit_data.validate.config import ValidationConfig, load_validation_config

__all__ = ["ValidationConfig", "ValidationResult", "load_validation_config", "validate_frame", "validate_rows"]

_LAZY = ("ValidationResult", "validate_frame", "validate_rows")


def __getattr__(name: str):
    # imported on first use: the CLI reads this package's settings at start-up, the checks (polars, numpy,
    # datasketch) are only needed when the stage runs
    if name in _LAZY:
        from classit_data.validate import validate

        return getattr(validate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
