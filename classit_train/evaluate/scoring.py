"""Scoring candidates with a causal LM: summed log-probabilities, batched; and loading the model to score with.

**What is scored.** For each candidate the model reads ``prefix + completion`` and we sum
``log p(token | everything before it)`` over the tokens of the completion: a token counts when its character
span ends inside the completion (a token straddling the prefix/completion boundary counts, as in the official
pipeline). For BLiMP and WUG the prefix is empty, so the whole sentence is scored; for EWoK the prefix is the
context and the completion ``" " + target``; for entity tracking the prefix is ``input_prefix``.

**The first token.** A causal LM cannot score the first token of its input: nothing precedes it.

- ``first_token="official"`` (default) tokenizes as the official BabyLM 2025 pipeline does
  (``tokenizer(text)`` with the tokenizer's own special tokens). If the tokenizer adds a BOS token (Llama,
  Mistral) the first word is scored given BOS; if it adds none (GPT-2, SmolLM2, most BPE tokenizers trained
  from scratch) the first token is *not* scored and the sentence score is
  ``log p(w2..wn | w1)``. Leaderboard numbers are computed this way.
- ``first_token="bos"`` always puts a start token (the tokenizer's BOS, else its EOS) before the text, so every
  token of the sentence is scored: ``log p(w1..wn | <s>)``. This is the usual definition of a sentence's
  probability; it can change BLiMP pairs whose sentences differ in the first word.

``results.json`` records which was used and whether the first token was scored.

**Batching.** Candidates of all items are sorted by length and run in batches, right-padded with an attention
mask; padding sits after every real token, so with causal attention it cannot change a real token's logits
(tests check batched scores against one-at-a-time scores within 1e-4 nats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from classit_data.core.errors import InputError, first_line

FIRST_TOKEN_MODES = ("official", "bos")
#: the dtypes a model is loaded in (``--dtype``)
DTYPES = ("float32", "bfloat16", "float16")
#: ``standard``: ours (the default); ``official``: the BabyLM 2025 pipeline's computation, exactly
PROTOCOLS = ("standard", "official")


@dataclass
class Encoded:
    ids: list[int]
    scored: list[bool]  # True where the token belongs to the completion (never at position 0)


class CausalScorer:
    """Sums completion log-probabilities under any ``AutoModelForCausalLM``; model and tokenizer are given."""

    def __init__(self, model, tokenizer, *, first_token: str = "official", protocol: str = "standard", device=None):
        import torch

        check_scoring(first_token, protocol)
        self.protocol = protocol
        if not getattr(tokenizer, "is_fast", False):
            raise InputError(
                "the model's tokenizer has no fast (Rust) version: character offsets are needed "
                "to find the completion's tokens"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.first_token = first_token
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.start_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        if first_token == "bos" and self.start_id is None:
            raise InputError("first_token='bos' needs a tokenizer with a BOS or EOS token", "--first-token")
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.start_id or 0)
        self.max_len = getattr(model.config, "max_position_embeddings", None)
        self._special = set(tokenizer.all_special_ids)

    # -- tokenization -------------------------------------------------------------------------------------
    def encode(self, prefix: str, completion: str) -> Encoded:
        text = prefix + completion
        official = self.first_token == "official"
        enc = self.tokenizer(text, return_offsets_mapping=True, add_special_tokens=official)
        ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
        if not official:
            ids, offsets = [self.start_id] + ids, [(0, 0)] + offsets
        if self.protocol == "official":  # the pipeline's phrase mask: offsets counted from the first token's start
            boundary = len(prefix) + (offsets[0][0] if offsets else 0)
            return Encoded(ids, [i > 0 and end > boundary for i, (_, end) in enumerate(offsets)])
        boundary = len(prefix)
        scored = [i > 0 and end > boundary and end > start for i, (start, end) in enumerate(offsets)]
        return Encoded(ids, scored)

    def first_token_scored(self) -> bool:
        """Whether a sentence's first word is scored (a start token precedes it)."""
        if self.first_token == "bos":
            return True
        enc = self.tokenizer("hello", return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        return bool(ids) and ids[0] in self._special and tuple(offsets[0]) == (0, 0)

    # -- scoring ------------------------------------------------------------------------------------------
    def score_encoded(self, encoded: Sequence[Encoded], batch_size: int = 32, progress=None) -> list[float]:
        """Summed log-probabilities (nats) of the scored tokens of every sequence, in input order."""
        import torch

        if batch_size < 1:
            raise InputError("batch size must be at least 1", "--batch-size")
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].ids))
        out = [0.0] * len(encoded)
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = len(encoded[idx[0]].ids)
                if self.max_len and width > self.max_len:
                    raise InputError(
                        f"a candidate is {width} tokens long, more than the model's {self.max_len} positions"
                    )
                ids, mask, scored = self._right_padded([encoded[i] for i in idx], width)
                if width < 2:  # one token: nothing can be scored
                    sums = torch.zeros(len(idx))
                else:
                    logits = self.model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1]).logits.float()
                    targets = ids[:, 1:]
                    token_lp = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)
                    sums = (token_lp * scored[:, 1:]).sum(-1).cpu()
                for row, i in enumerate(idx):
                    out[i] = float(sums[row])
                if progress is not None:
                    progress(len(idx))
        return out

    def _right_padded(self, batch: Sequence[Encoded], width: int):
        """Token ids, attention mask and scored-token mask of a batch, padded on the right to ``width``."""
        import torch

        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        scored = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, enc in enumerate(batch):
            n = len(enc.ids)
            ids[row, :n] = torch.tensor(enc.ids)
            mask[row, :n] = 1
            scored[row, :n] = torch.tensor(enc.scored)
        return ids.to(self.device), mask.to(self.device), scored.to(self.device)

    def next_token_logprobs(
        self, contexts: Sequence[list[int]], targets: Sequence[Sequence[int]], batch_size: int = 32, progress=None
    ) -> list[list[float]]:
        """Log-probabilities (nats) of ``targets[i]``'s token ids as the token after ``contexts[i]``'s ids.

        One forward pass per context, batched and right-padded: the official reading protocol's queries.
        """
        import torch

        if batch_size < 1:
            raise InputError("batch size must be at least 1", "--batch-size")
        order = sorted(range(len(contexts)), key=lambda i: -len(contexts[i]))
        out: list[list[float]] = [[] for _ in contexts]
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = len(contexts[idx[0]])
                if self.max_len and width > self.max_len:
                    raise InputError(
                        f"a context is {width} tokens long, more than the model's {self.max_len} positions"
                    )
                batch = [Encoded(contexts[i], [False] * len(contexts[i])) for i in idx]
                ids, mask, _ = self._right_padded(batch, width)
                last = torch.tensor([len(contexts[i]) - 1 for i in idx], device=self.device)
                logits = self.model(input_ids=ids, attention_mask=mask).logits
                rows = logits[torch.arange(len(idx), device=self.device), last].float().log_softmax(-1).cpu()
                for row, i in enumerate(idx):
                    out[i] = [float(rows[row, t]) for t in targets[i]]
                if progress is not None:
                    progress(len(idx))
        return out

    def score(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32, progress=None) -> list[float]:
        """Summed log-probability of each ``completion`` given its ``prefix``."""
        return self.score_encoded([self.encode(p, c) for p, c in pairs], batch_size, progress)


def score_with_progress(
    scorer: CausalScorer, encoded: Sequence[Encoded], batch_size: int, description: str, progress: bool
) -> tuple[list[float], dict]:
    """``scorer.score_encoded`` under a progress bar (when ``progress``), and how long it took."""
    return timed_with_progress(
        len(encoded), description, progress, lambda advance: scorer.score_encoded(encoded, batch_size, advance)
    )


def timed_with_progress(count: int, description: str, progress: bool, work) -> tuple[list, dict]:
    """``work(advance)`` over ``count`` sequences under a progress bar (when ``progress``), and how long it took."""
    import time

    from classit_data.core.console import ProgressBar

    t0 = time.perf_counter()
    with ProgressBar(description, count, enabled=progress) as bar:
        scores = work(lambda n: bar.update(advance=n))
    score_s = time.perf_counter() - t0
    return scores, {
        "score_s": round(score_s, 2),
        "sequences": count,
        "sequences_per_s": round(count / score_s, 2) if score_s else None,
    }


def check_scoring(first_token: str, protocol: str) -> None:
    """Refuse an unknown first-token mode or protocol, or the two at odds: the settings alone decide it, so
    ``evaluate`` asks before any model loads."""
    if first_token not in FIRST_TOKEN_MODES:
        raise InputError(
            f"first_token must be one of {', '.join(FIRST_TOKEN_MODES)}, not {first_token!r}", "--first-token"
        )
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}", "--protocol")
    if protocol == "official" and first_token != "official":
        raise InputError("--protocol official scores the first token as the pipeline does: drop --first-token bos")


# -- model loading ------------------------------------------------------------------------------------------
def resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise InputError(f"not a device: {device!r} (auto, cpu, cuda, cuda:N, mps...)", "--device") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for but no CUDA GPU is available", "--device")
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise InputError(
            f"device {device!r} asked for but there are {torch.cuda.device_count()} CUDA GPU(s)", "--device"
        )
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {device!r} asked for but MPS is not available", "--device")
    return device


def model_path(model_dir: str | Path, dtype: str = "float32") -> Path | str:
    """What a loader loads, offline: the model argument resolved (``core.models.resolve_model``), a folder known
    to hold config.json, in a known ``dtype``. Checked before torch and transformers are imported: a mistyped
    model or dtype is refused at once."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classit_data.core.models import resolve_model

    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}", "--dtype")
    path = resolve_model(str(model_dir))
    if isinstance(path, Path) and not (path / "config.json").exists():
        raise InputError("not a model folder (no config.json)", path)
    return path


def load_model(model_dir: str | Path, *, device: str | None = None, dtype: str = "float32", revision=None):
    """Any ``AutoModelForCausalLM`` folder (or cached Hub id, at ``revision``: a branch) and its tokenizer,
    offline."""
    path = model_path(model_dir, dtype)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bar is enough
    try:
        hub = {"revision": revision} if revision and not isinstance(path, Path) else {}
        tokenizer = AutoTokenizer.from_pretrained(path, **hub)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), **hub)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a causal LM: {first_line(exc)}", path) from None
    model.to(resolve_device(device))
    model.eval()
    return model, tokenizer, path
