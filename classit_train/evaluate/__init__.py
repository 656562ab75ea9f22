"""``classit-train eval``: zero-shot BabyLM tasks scored with a causal LM."""

from classit_train.evaluate.scoring import CausalScorer, evaluate_model, load_model

__all__ = ["CausalScorer", "evaluate_model", "load_model"]
