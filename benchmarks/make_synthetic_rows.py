"""Synthetic item rows (both sources) with realistic length distributions, plus their passages.

Lengths follow what was measured or published, not a guess:

- Switchboard: turn lengths of the BabyLM ``switchboard.train`` (adjacent turns with at least 3 words:
  log-normal, mu 2.66, sigma 0.88 in log words, median 15, 99th percentile ~100, clipped to 3..400);
- Simple Wikipedia QA: questions log-normal around 9 words (sigma 0.3), answers around 18 words (sigma 0.6,
  clipped to 1..150), each answer a span of its passage's words, passages of 40-160 words.

The mix is the published dataset's (91,016 QA rows to 38,802 Switchboard rows). A small share of rows is
made bad on purpose (``--bad-share``, default 2%: empty replies, loops, markup, mojibake, copied prompts,
exact and near duplicates), so a benchmark exercises every validator and the deduplicator.

    .venv/bin/python benchmarks/make_synthetic_rows.py 130000 OUT_DIR   # OUT_DIR/rows.parquet, passages.parquet
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from classit_data.core.io import write_rows  # noqa: E402
from classit_data.core.schema import ITEM_SCHEMA, PASSAGE_SCHEMA, content_id  # noqa: E402
from classit_data.core.template import default_template  # noqa: E402

WIKI_SHARE = 91_016 / (91_016 + 38_802)
VOCAB_SIZE = 20_000
FILLERS = ["uh", "um", "well", "yeah", "you know", "I mean", "like", "so", "oh", "right"]
QWORDS = ["What", "Who", "Where", "When", "Why", "How", "Which", "What", "What", "How"]


def _vocab(rng: np.random.Generator) -> np.ndarray:
    """Pronounceable made-up words, drawn with Zipf-like frequencies (see ``_draw``)."""
    cons, vow = list("bcdfghklmnprstvwz"), list("aeiou")
    words = set()
    while len(words) < VOCAB_SIZE:
        n = rng.integers(1, 4)
        words.add("".join(rng.choice(cons) + rng.choice(vow) for _ in range(n)) + rng.choice(["", "n", "s", "t"]))
    return np.array(sorted(words))


#: Zipf-Mandelbrot word frequencies, about English's: the commonest word is ~4% of running words
_RANKS = 1.0 / (np.arange(VOCAB_SIZE) + 2.7)
_CUM = np.cumsum(_RANKS / _RANKS.sum())


def _draw(rng: np.random.Generator, vocab: np.ndarray, n: int) -> list[str]:
    idx = np.minimum(np.searchsorted(_CUM, rng.random(n)), len(vocab) - 1)
    same = np.flatnonzero(idx[1:] == idx[:-1]) + 1  # no "the the": natural text seldom repeats a word at once
    idx[same] = (idx[same] + 1) % len(vocab)
    return vocab[idx].tolist()


def _lengths(rng: np.random.Generator, n: int, mu: float, sigma: float, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.round(rng.lognormal(mu, sigma, n)), lo, hi).astype(int)


def _sentence(words: list[str]) -> str:
    return (" ".join(words).capitalize() + ".") if words else ""


def make_rows(n: int, seed: int = 0, bad_share: float = 0.02) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(item rows, passages): ``n`` rows in the published dataset's source mix."""
    rng = np.random.default_rng(seed)
    vocab = _vocab(rng)
    tpl = default_template()
    n_wiki = round(n * WIKI_SHARE)
    rows = _switchboard_rows(rng, vocab, n - n_wiki)
    wiki_rows, passages = _wiki_rows(rng, vocab, n_wiki)
    rows += wiki_rows
    order = rng.permutation(len(rows))  # interleave the sources, as a merged file would
    rows = [rows[k] for k in order]
    _spoil(rows, rng, bad_share, vocab)
    for r in rows:
        r["text"] = tpl.render(r["prompt"], r["reply"])
        r["id"] = content_id(r["source"], r["doc_id"], r["position"], r["prompt"], r["reply"])
    return pl.DataFrame(rows, schema=ITEM_SCHEMA, strict=False), pl.DataFrame(passages, schema=PASSAGE_SCHEMA)


def _switchboard_rows(rng: np.random.Generator, vocab: np.ndarray, n_sw: int) -> list[dict]:
    """Conversations of 40 turns; row i pairs turn i-1 with turn i."""
    turn_len = _lengths(rng, n_sw + n_sw // 39 + 2, 2.66, 0.88, 3, 400)
    turns = []
    for length in turn_len:
        words = _draw(rng, vocab, int(length))
        if rng.random() < 0.4:
            words[0] = rng.choice(FILLERS) + ","
        turns.append(_sentence(words))
    rows: list[dict] = []
    t = 0
    for conv in range(n_sw // 39 + 1):
        doc = f"sw{2000 + conv}"
        for pos in range(1, 40):
            if len(rows) >= n_sw:
                break
            prompt, reply = turns[t], turns[t + 1]
            t += 1
            rows.append(
                {
                    "source": "switchboard",
                    "prompt": prompt,
                    "reply": reply,
                    "doc_id": doc,
                    "position": pos,
                    "origin": "switchboard.train (babylm)",
                }
            )
        t += 1
    return rows


def _wiki_rows(rng: np.random.Generator, vocab: np.ndarray, n_wiki: int) -> tuple[list[dict], list[dict]]:
    """Passages of 40-160 words, 3 questions each; an answer is a span of its passage."""
    rows, passages = [], []
    q_len = _lengths(rng, n_wiki, np.log(9), 0.3, 4, 40)
    a_len = _lengths(rng, n_wiki, np.log(18), 0.6, 1, 150)
    sampling = json.dumps({"temperature": 0.7, "top_p": 0.9}, sort_keys=True)
    i = 0
    while i < n_wiki:
        article = str(10_000 + len(passages) // 4)
        words = _draw(rng, vocab, int(rng.integers(40, 161)))
        text = " ".join(_sentence(words[k : k + 15]) for k in range(0, len(words), 15))
        pid = content_id(article, "", text)
        passages.append(
            {
                "passage_id": pid,
                "article_id": article,
                "title": f"Article {article}",
                "section": "",
                "text": text,
                "n_words": len(words),
            }
        )
        for q in range(3):
            if i >= n_wiki:
                break
            span = min(int(a_len[i]), max(1, len(words) // 2))
            start = int(rng.integers(0, len(words) - span + 1))
            answer = _sentence(words[start : start + span])
            question = f"{rng.choice(QWORDS)} {' '.join(_draw(rng, vocab, int(q_len[i]) - 1))}?"
            rows.append(
                {
                    "source": "simple_wiki",
                    "prompt": question,
                    "reply": answer,
                    "doc_id": article,
                    "position": (len(passages) - 1) % 4 * 3 + q,
                    "origin": "passages.parquet",
                    "passage_id": pid,
                    "model": "meta-llama/Llama-3.2-3B-Instruct",
                    "model_revision": "main",
                    "prompt_hash": "0123456789abcdef",
                    "sampling": sampling,
                    "seed": 0,
                }
            )
            i += 1
    return rows, passages


def _spoil(rows: list[dict], rng: np.random.Generator, share: float, vocab: np.ndarray) -> None:
    """Make about ``share`` of the rows bad, each in one of the ways the validators look for."""
    n_bad = int(len(rows) * share)
    targets = rng.choice(len(rows), size=n_bad, replace=False)
    for k, j in enumerate(targets):
        r = rows[j]
        kind = k % 8
        if kind == 0:
            r["reply"] = "   "
        elif kind == 1:
            r["reply"] = " ".join(["the"] * 12)
        elif kind == 2:
            r["reply"] = r["prompt"]
        elif kind == 3:
            r["reply"] = r["reply"].replace("a", "Ã©", 1) + " caf\ufffd"
        elif kind == 4 and r["source"] == "switchboard":
            r["prompt"] = "{F Uh, } " + r["prompt"] + " <laughter>"
        elif kind == 5:  # exact duplicate up to case and punctuation of an earlier row
            src = rows[int(rng.integers(0, len(rows)))]
            r.update(
                prompt=src["prompt"].upper(),
                reply=src["reply"].rstrip(".") + "!",
                source=src["source"],
                passage_id=src.get("passage_id"),
            )
        elif kind == 6:  # near duplicate: one word changed
            src = rows[int(rng.integers(0, len(rows)))]
            words = (src["prompt"] + " \n " + src["reply"]).split(" ")
            if len(words) > 30:
                words[len(words) // 2] = str(rng.choice(vocab))
                p, _, rep = " ".join(words).partition(" \n ")
                r.update(prompt=p, reply=rep, source=src["source"], passage_id=src.get("passage_id"))
        elif kind == 7:
            r["reply"] = " ".join(_draw(rng, vocab, 3) * 8)


def rows_folder(n: int, work: Path, seed: int = 0) -> Path:
    """``work/rows_N`` holding ``rows.parquet`` and ``passages.parquet`` of ``n`` rows, written once and reused."""
    folder = work / f"rows_{n}_{seed}"
    if not (folder / "passages.parquet").exists():
        rows, passages = make_rows(n, seed)
        write_rows(rows, folder / "rows.parquet")
        write_rows(passages, folder / "passages.parquet")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bad-share", type=float, default=0.02)
    args = ap.parse_args()
    rows, passages = make_rows(args.n, args.seed, args.bad_share)
    write_rows(rows, args.out_dir / "rows.parquet")
    write_rows(passages, args.out_dir / "passages.parquet")
    print(f"{rows.height:,} rows, {passages.height:,} passages -> {args.out_dir}")


if __name__ == "__main__":
    main()
