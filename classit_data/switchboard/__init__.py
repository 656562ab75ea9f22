"""``convert-switchboard``: Switchboard transcripts to prompt/reply items."""

from __future__ import annotations

from classit_data.core.lazy import lazy_attributes

__all__ = ["convert_switchboard"]
__getattr__ = lazy_attributes(__name__, {"convert_switchboard": "convert"})
