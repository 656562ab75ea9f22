"""``validate``: checks, deduplication and the report; rejected rows are kept aside with their reason.

Modules, imported in one direction: ``config`` (thresholds) -> ``dedup`` (exact and near duplicates) ->
``checks`` (every reason, declared once, and the features they read) -> ``inputs`` (reading) -> ``report``
-> ``validate`` (the steps of ``validate_rows``).
"""

from __future__ import annotations

from classit_data.core.lazy import lazy_attributes
from classit_data.validate.config import ValidationConfig, load_validation_config

__all__ = ["ValidationConfig", "ValidationResult", "load_validation_config", "validate_frame", "validate_rows"]

__getattr__ = lazy_attributes(__name__, dict.fromkeys(("ValidationResult", "validate_frame", "validate_rows"),
                                                       "validate"))
