"""``stats`` and ``build``: length statistics and Figure 1, the Hub-layout dataset folder and its card."""

from classit_data.build.build import build_dataset
from classit_data.build.stats import compute_stats

__all__ = ["build_dataset", "compute_stats"]
