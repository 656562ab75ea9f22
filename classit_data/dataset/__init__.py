"""``stats`` and ``build``: length statistics and Figure 1, the Hub-layout dataset folder and its card."""

from __future__ import annotations

from classit_data.core.lazy import lazy_attributes

__all__ = ["build_dataset", "compute_stats"]
__getattr__ = lazy_attributes(__name__, {"build_dataset": "build", "compute_stats": "stats"})
