"""``validate`` and ``contamination``: checks, deduplication and the report; rejected rows are kept aside with
their reason.

Modules, imported in one direction: ``config`` (thresholds) -> ``dedup`` (exact and near duplicates) ->
``inputs`` (reading) -> ``features`` (what the checks read) -> ``checks`` (every reason, declared once) ->
``report`` -> ``validate`` (the stage ``validate`` and ``validate_frame``). ``contamination`` is the stage of the
same name (and the eval matching a check reads).

The stage functions share their modules' names, so they are imported from them:
``from classit_data.validate.validate import validate``,
``from classit_data.validate.contamination import contamination``.
"""

from __future__ import annotations

from classit_data.core.lazy import lazy_attributes
from classit_data.validate.config import ContaminationConfig, ValidationConfig

__all__ = ["ContaminationConfig", "ValidationConfig", "ValidationResult", "ValidationSummary", "validate_frame"]

__getattr__ = lazy_attributes(
    __name__, dict.fromkeys(("ValidationResult", "ValidationSummary", "validate_frame"), "validate")
)
