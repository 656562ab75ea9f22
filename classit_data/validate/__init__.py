"""``validate``: checks, deduplication and the report; rejected rows are kept aside with their reason."""

from classit_data.validate.checks import ValidationConfig, load_config, validate_frame, validate_rows

__all__ = ["ValidationConfig", "load_config", "validate_frame", "validate_rows"]
