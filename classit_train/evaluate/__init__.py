"""``classit-train eval``: zero-shot BabyLM tasks scored with a causal LM.

tasks (files -> items with candidates) -> scoring (summed log-probabilities) -> metrics (accuracies, Spearman)
-> results (results.json and the predictions file).
"""

from classit_train.config import EvalConfig
from classit_train.evaluate.results import EvalSummary, evaluate
from classit_train.evaluate.scoring import CausalScorer, load_model

__all__ = ["CausalScorer", "EvalConfig", "EvalSummary", "evaluate", "load_model"]
