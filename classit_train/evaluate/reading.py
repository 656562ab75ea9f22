"""The reading task: how much a model's word surprisal adds to predicting human reading times.

Data: the BabyLM 2025 pipeline's ``reading/reading_data.csv`` (de Varda, Marelli & Amenta 2023: 205 sentences
with eye-tracking, self-paced reading and EEG measures), one row per word: ``item`` (the sentence up to the
word, without a trailing space), ``word``, ``prev_item`` / ``prev_word`` (the same for the word before, empty
for a sentence's first scored word), and the predictors ``Subtlex_log10`` (word frequency), ``length``,
``context_length`` and ``prev_length``, and the measures.

**Surprisal.** ``-log p(word | item)`` in nats: the sum over the word's tokens of their log-probabilities given
the sentence so far, scored as ``item + " " + word`` with :class:`CausalScorer` (only the word's tokens count;
a word with an empty ``item`` is scored without the space), so the first-token convention (``--first-token``)
is the other tasks'. The word before gets its own surprisal the same way (``prev_surprisal``).

**Protocols.** ``standard`` (the default, above) scores the word as a reader sees it: ``" " + word`` after the
context. ``official`` reproduces the pipeline's ``get_p2`` exactly: the context is ``tokenizer(item)`` with the
tokenizer's own special tokens (an empty ``item`` is read by pandas as missing and becomes the text ``"None"``),
the word is ``tokenizer(word, add_special_tokens=False)`` with no leading space, and its first token's
probability is read after the context; each further token is decoded, appended to the context as text, and
re-tokenized (the context and the piece both), its first token read after the new context. The word's surprisal
is minus the log of the product. A previous word is scored only when ``prev_item`` is present. Every such query
is one forward pass over a context; the queries are collected, each distinct context run once, in batches. With
a byte-level BPE tokenizer (GPT-2, SmolLM2, ours) the official query of a one-token word is the probability of
a token glued to the context ("placedthe"), so its surprisals are much higher and explain less variance.

**Regressions** (as the pipeline's ``evaluation_pipeline/reading/run.py``, fitted with statsmodels' OLS
formulas): for every measure, a baseline model of the predictors and all their pairwise interactions, and the
same model plus ``surprisal``, both on the rows where every variable is present. The score of a measure is the
increase in R^2 as a share of the largest increase possible, ``100 * (R2_model - R2_base) / (1 - R2_base)``.

- **eye tracking** (no spillover): baseline ``Subtlex_log10``, ``length``, ``context_length``; the score is
  the mean over ``RTfirstfix``, ``RTfirstpass``, ``RTgopast`` and ``RTrightbound``;
- **self-paced reading** (one word of spillover): the baseline adds ``prev_length`` and ``prev_surprisal``;
  the score is that of ``self_paced_reading_time``.

The EEG components (``ELAN``, ``LAN``, ``N400``, ``P600``, ``EPNP``, ``PNP``), when present, are fitted and
reported too, as in the pipeline, but enter neither score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

from classit_data.core.errors import InputError
from classit_train.evaluate.scoring import CausalScorer, score_with_progress, timed_with_progress

EYE_TRACKING = ("RTfirstfix", "RTfirstpass", "RTgopast", "RTrightbound")
SELF_PACED = "self_paced_reading_time"
EEG = ("ELAN", "LAN", "N400", "P600", "EPNP", "PNP")
BASELINE = ("Subtlex_log10", "length", "context_length")
SPILLOVER = (*BASELINE, "prev_length", "prev_surprisal")
TEXT_COLUMNS = ("item", "word", "prev_item", "prev_word")
REQUIRED = (*TEXT_COLUMNS, *BASELINE, "prev_length", *EYE_TRACKING, SELF_PACED)
_MISSING = {"", "NA", "NaN", "nan", "None", "null"}


def read_words(paths: Sequence[str | Path], limit: int | None = None):
    """The rows of the reading CSV(s) as a pandas DataFrame, numbers as floats (missing ones NaN)."""
    import pandas as pd

    frames = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError("no such file" if not path.exists() else "expected the reading CSV file", path)
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"not a readable CSV file: {str(exc).strip().splitlines()[0]}", path) from None
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}", path)
        if df.empty:
            raise InputError("no rows", path)
        frames.append(_typed(df, path))
    if not frames:
        raise InputError("no reading data given", "--data")
    df = pd.concat(frames, ignore_index=True)
    return df.head(limit) if limit is not None else df


def _typed(df, path: Path):
    """Numbers parsed (a missing value is NaN; anything else that is not a number is an error naming its line)."""
    df = df.copy()
    for column in (c for c in df.columns if c not in TEXT_COLUMNS and c in (*REQUIRED, *EEG)):
        values = []
        for i, text in enumerate(df[column]):
            try:
                values.append(math.nan if text.strip() in _MISSING else float(text))
            except ValueError:
                raise InputError(f"column {column}: not a number: {text!r}", path, i + 2) from None
        df[column] = values
    for i, word in enumerate(df["word"]):
        if not word.strip():
            raise InputError("column word is empty", path, i + 2)
    df["source"] = [f"{path}:{i + 2}" for i in range(len(df))]
    return df


def _completion(prefix: str, word: str) -> str:
    return " " + word if prefix else word


def surprisals(scorer: CausalScorer, df, batch_size: int, progress: bool) -> tuple[list[float], list[float], dict]:
    """Every word's surprisal and its previous word's (NaN without one), in nats; each distinct pair scored once."""
    pairs = {(p, _completion(p, w)) for p, w in zip(df["item"], df["word"])}
    pairs |= {(p, _completion(p, w)) for p, w in zip(df["prev_item"], df["prev_word"]) if w.strip()}
    order = sorted(pairs)
    scores, timing = score_with_progress(
        scorer, [scorer.encode(p, c) for p, c in order], batch_size, "reading: scoring", progress
    )
    lookup = dict(zip(order, scores))
    cur = [-lookup[(p, _completion(p, w))] for p, w in zip(df["item"], df["word"])]
    prev = [
        -lookup[(p, _completion(p, w))] if w.strip() else math.nan for p, w in zip(df["prev_item"], df["prev_word"])
    ]
    return cur, prev, timing


#: the strings pandas reads as missing (its default ``na_values``): the pipeline reads the CSV with them
PANDAS_MISSING = frozenset(
    "#N/A|#N/A N/A|#NA|-1.#IND|-1.#QNAN|-NaN|-nan|1.#IND|1.#QNAN|<NA>|N/A|NA|NULL|NaN|None|n/a|nan|null|".split("|")
)


def official_queries(tokenizer, item: str, word: str) -> list[tuple[str, int]]:
    """The pipeline's queries for one word: (context text, token id whose probability is read after it)."""

    def first_id(text: str) -> int:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            raise InputError(f"the official protocol cannot score {word!r} after {item!r}: {text!r} has no tokens")
        return ids[0]

    target = tokenizer(word, add_special_tokens=False)["input_ids"]
    if not target:
        raise InputError(f"the word {word!r} has no tokens")
    queries = [(item, target[0])]
    context = item + tokenizer.decode(target[0])
    for token in target[1:]:
        piece = tokenizer.decode(token)
        queries.append((context, first_id(piece)))
        context += piece
    return queries


def official_surprisals(scorer: CausalScorer, df, batch_size: int, progress: bool) -> tuple[list, list, dict]:
    """Every word's and previous word's surprisal (NaN without ``prev_item``) as the pipeline's ``get_p2``."""
    tok = scorer.tokenizer
    items = ["None" if i in PANDAS_MISSING else i for i in df["item"]]
    words = [list(zip(items, df["word"]))]
    words.append([(p, w) if p not in PANDAS_MISSING else None for p, w in zip(df["prev_item"], df["prev_word"])])
    queries = {pair: official_queries(tok, *pair) for pair in {q for col in words for q in col if q is not None}}
    by_context: dict[str, set[int]] = {}
    for context, target in (q for qs in queries.values() for q in qs):
        by_context.setdefault(context, set()).add(target)
    contexts = sorted(by_context)
    ids = [tok(c)["input_ids"] for c in contexts]
    targets = [sorted(by_context[c]) for c in contexts]
    lps, timing = timed_with_progress(
        len(contexts),
        "reading: scoring (official)",
        progress,
        lambda advance: scorer.next_token_logprobs(ids, targets, batch_size, advance),
    )
    lookup = {(c, t): lp for c, ts, row in zip(contexts, targets, lps) for t, lp in zip(ts, row)}
    cur, prev = ([math.nan if q is None else -sum(lookup[x] for x in queries[q]) for q in col] for col in words)
    return cur, prev, timing


def formula(measure: str, predictors: Sequence[str], extra: str | None = None) -> str:
    """``measure ~ main effects + every pairwise interaction [+ extra]``."""
    terms = [*predictors, *(f"{a}:{b}" for a, b in combinations(predictors, 2))]
    return f"{measure} ~ {' + '.join(terms + ([extra] if extra else []))}"


def fit_measure(df, measure: str, predictors: Sequence[str]) -> dict:
    """Baseline and baseline + surprisal OLS fits of one measure, on the rows where all are present."""
    import statsmodels.formula.api as smf

    rows = df[[measure, *predictors, "surprisal"]].dropna()
    n_params = len(predictors) + len(predictors) * (len(predictors) - 1) // 2 + 2
    if len(rows) <= n_params:
        raise InputError(
            f"{measure}: {len(rows)} rows with every variable present, too few for {n_params} coefficients"
        )
    base = smf.ols(formula(measure, predictors), data=rows).fit()
    full = smf.ols(formula(measure, predictors, "surprisal"), data=rows).fit()
    gain = full.rsquared - base.rsquared
    return {
        "n": int(len(rows)),
        "r2_baseline": float(base.rsquared),
        "r2": float(full.rsquared),
        "delta_r2": float(gain),
        "score": float(100.0 * gain / (1.0 - base.rsquared)),
        "coefficient": float(full.params["surprisal"]),
        "t": float(full.tvalues["surprisal"]),
        "p": float(full.pvalues["surprisal"]),
        "aic": float(full.aic),
        "delta_aic": float(full.aic - base.aic),
    }


def summarise_reading(df) -> dict:
    """Both scores, every measure's fits, and the surprisal's correlation with each measure."""
    measures = [m for m in (*EYE_TRACKING, SELF_PACED, *EEG) if m in df.columns]
    plain = {m: fit_measure(df, m, BASELINE) for m in measures}
    spill = {m: fit_measure(df, m, SPILLOVER) for m in measures}
    eye = sum(plain[m]["score"] for m in EYE_TRACKING) / len(EYE_TRACKING)
    correlations = {m: float(df["surprisal"].corr(df[m])) for m in measures}
    return {
        "metric": "reading",
        "score": eye,
        "eye_tracking": eye,
        "self_paced_reading": spill[SELF_PACED]["score"],
        "n_items": int(len(df)),
        "n_uids": 1,
        "regressions": {"no_spillover": plain, "spillover": spill},
        "correlations": correlations,
    }


def evaluate_reading(scorer: CausalScorer, df, batch_size: int, progress: bool) -> tuple[dict, list[dict], dict]:
    """Score every word (by the scorer's protocol), fit the regressions: the task's summary, one prediction row
    per word, and timing."""
    words = official_surprisals if scorer.protocol == "official" else surprisals
    cur, prev, timing = words(scorer, df, batch_size, progress)
    df = df.assign(surprisal=cur, prev_surprisal=prev)
    summary = summarise_reading(df)
    rows = [
        {"id": i, "source": s, "item": it, "word": w, "surprisal": c, "prev_surprisal": None if math.isnan(p) else p}
        for i, (s, it, w, c, p) in enumerate(zip(df["source"], df["item"], df["word"], cur, prev))
    ]
    return summary, rows, timing
