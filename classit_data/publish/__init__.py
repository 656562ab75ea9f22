"""``push``: publish a built dataset folder to the Hugging Face Hub."""

from __future__ import annotations

from classit_data.core.lazy import lazy_attributes

__all__ = ["push_dataset"]
__getattr__ = lazy_attributes(__name__, {"push_dataset": "push"})
