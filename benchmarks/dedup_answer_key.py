"""Near-duplicate detection against an exact answer key: recall and precision of ``validate``'s deduplicator.

The key: item rows in the published source mix (``make_synthetic_rows.make_rows``, no spoiled rows), plus
planted near duplicates: for a random earlier row, a copy edited word by word (substitutions, insertions,
deletions, on either side) until its word-shingle Jaccard similarity to the original drops to a target drawn
uniformly from 0.70-0.95, placed at a random later position. Then the Jaccard similarity of *every* pair of
rows is computed exactly (sparse row-by-shingle matrix, its product with itself), so pairs that arose by
chance are in the key too. Shingles are built here in plain Python from the normalised words (tuples, no
hashing), independently of the deduplicator's polars and 64-bit hash code path.

Scored at a threshold t, over the rows the deduplicator keeps apart from exact duplicates:

- recall: of the true pairs (a, b), a before b, with Jaccard >= t, the share whose later row b is marked as a
  near duplicate of a row it truly is >= t similar to (a kept row is matched once; in this key the planted
  pairs are disjoint, so that row is a);
- precision: of the rows marked, the share whose named row is truly >= t similar.

    python -m benchmarks dedup_answer_key [--rows 20000] [--pairs 2000] [--seeds 0 1 2] [--threshold 0.8] \\
        [--num-perm 64 128] [--baseline OLD_dedup.py]

``--baseline`` scores another version of ``dedup.py`` (a file from an earlier commit, e.g. extracted with
``git show REV:classit_data/validate/dedup.py > /tmp/dedup_old.py``) on the same key, side by side.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.harness import Call, Report, options, parse
from classit_data.validate import dedup

LOW, HIGH = 0.70, 0.95


@dataclass
class AnswerKey:
    """Normalised rows and every pair of them with Jaccard >= ``floor``: (earlier row, later row, Jaccard)."""

    prompts: list[str]
    replies: list[str]
    pairs: list[tuple[int, int, float]]
    planted: int
    floor: float

    def similar(self, threshold: float) -> dict[tuple[int, int], float]:
        return {(a, b): j for a, b, j in self.pairs if j >= threshold}


def shingles(prompt: str, reply: str, n: int = 3) -> frozenset:
    """Word n-grams of each side of a normalised row, sides kept apart; a side shorter than n is one shingle."""
    out = set()
    for side, text in (("p", prompt), ("r", reply)):
        words = text.split(" ")
        grams = [tuple(words[k : k + n]) for k in range(len(words) - n + 1)] or [tuple(words)]
        out.update((side, g) for g in grams)
    return frozenset(out)


def true_jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b)


def _edit(rng: np.random.Generator, sides: list[list[str]], vocab: list[str]) -> None:
    """One word edit (substitute, insert or delete) on a side picked in proportion to its length."""
    lengths = np.array([len(s) for s in sides], dtype=float)
    side = sides[int(rng.choice(2, p=lengths / lengths.sum()))]
    op, k = rng.integers(3), int(rng.integers(len(side)))
    word = vocab[int(rng.integers(len(vocab)))]
    if op == 0 or len(side) == 1:
        side[k] = word
    elif op == 1:
        side.insert(k, word)
    else:
        del side[k]


def near_copy(rng: np.random.Generator, prompt: str, reply: str, vocab: list[str]) -> tuple[str, str, float] | None:
    """A copy edited until its Jaccard to the original drops to a target in [LOW, HIGH]; None if it overshoots."""
    target = rng.uniform(LOW, HIGH)
    original = shingles(prompt, reply)
    sides = [prompt.split(" "), reply.split(" ")]
    j = 1.0
    while j > target:
        _edit(rng, sides, vocab)
        j = true_jaccard(original, shingles(" ".join(sides[0]), " ".join(sides[1])))
    return (" ".join(sides[0]), " ".join(sides[1]), j) if j >= LOW else None


def all_pairs(sets: list[frozenset], floor: float) -> list[tuple[int, int, float]]:
    """Every pair (a < b) with exact Jaccard >= floor: shared shingles counted by a sparse matrix product."""
    from scipy.sparse import csr_matrix

    ids: dict = {}
    cols = [ids.setdefault(s, len(ids)) for row in sets for s in row]
    indptr = np.cumsum([0] + [len(row) for row in sets])
    m = csr_matrix((np.ones(len(cols), dtype=np.int32), cols, indptr), shape=(len(sets), len(ids)))
    shared = (m @ m.T).tocoo()
    sizes = np.diff(indptr)
    a, b, inter = shared.row, shared.col, shared.data
    keep = a < b
    a, b, inter = a[keep], b[keep], inter[keep]
    jac = inter / (sizes[a] + sizes[b] - inter)
    hit = jac >= floor
    return sorted(zip(a[hit].tolist(), b[hit].tolist(), jac[hit].tolist()))


def make_answer_key(n_rows: int = 20_000, n_pairs: int = 2_000, seed: int = 0, floor: float = 0.5) -> AnswerKey:
    """``n_rows`` rows of which ``n_pairs`` are planted near copies of earlier ones (see the module docstring)."""
    from benchmarks.make_synthetic_rows import make_rows

    rng = np.random.default_rng(seed)
    base, _ = make_rows(n_rows - n_pairs, seed=seed, bad_share=0.0)
    base = base.select(dedup.normalized(base["prompt"]).alias("p"), dedup.normalized(base["reply"]).alias("r"))
    base = base.unique(maintain_order=True)  # the key is about near duplicates: no exact ones
    rows = list(zip(base["p"].to_list(), base["r"].to_list()))
    vocab = sorted({w for p, r in rows[:2000] for w in (p + " " + r).split(" ") if w})
    used: set[int] = set()
    copies: list[tuple[int, tuple[str, str]]] = []
    while len(copies) < n_pairs:
        src = int(rng.integers(len(rows)))
        made = None if src in used else near_copy(rng, *rows[src], vocab)
        if made is not None:
            used.add(src)
            copies.append((src, made[:2]))
    order: list[tuple[str, str]] = list(rows)
    for src, copy in copies:  # each copy lands somewhere after its original
        at = order.index(rows[src])
        order.insert(int(rng.integers(at + 1, len(order) + 1)), copy)
    sets = [shingles(p, r) for p, r in order]
    return AnswerKey([p for p, _ in order], [r for _, r in order], all_pairs(sets, floor), n_pairs, floor)


def score(key: AnswerKey, found: dict[int, tuple[int, float]], threshold: float) -> dict:
    """Recall and precision of ``found`` ({later row: (earlier row, similarity)}) against the key at ``threshold``."""
    truth = key.similar(threshold)
    marked_right = {b for b, (a, _) in found.items() if (a, b) in truth}
    caught = sum(b in marked_right for (_, b) in truth)
    return {
        "true_pairs": len(truth),
        "found": len(found),
        "recall": caught / len(truth) if truth else 1.0,
        "precision": len(marked_right) / len(found) if found else 1.0,
        "missed": sorted(round(j, 3) for (a, b), j in truth.items() if b not in marked_right),
        "wrong": sorted(round(key_jaccard(key, a, b), 3) for b, (a, _) in found.items() if b not in marked_right),
    }


def key_jaccard(key: AnswerKey, a: int, b: int) -> float:
    return true_jaccard(shingles(key.prompts[a], key.replies[a]), shingles(key.prompts[b], key.replies[b]))


def load_dedup(path: Path):
    """Another version of ``dedup.py`` as a module of its own (it imports nothing from the package)."""
    spec = importlib.util.spec_from_file_location(f"dedup_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(dedup_file: Path | None, key: AnswerKey, threshold: float, num_perm: int) -> dict:
    """The deduplicator's near-duplicate pass over the key, scored (``dedup_file``: another ``dedup.py``)."""
    module = load_dedup(dedup_file) if dedup_file else dedup
    cfg = module.DedupConfig(threshold=threshold, num_perm=num_perm)
    found, candidates = module.near_duplicate_pairs(pl.Series(key.prompts), pl.Series(key.replies), cfg)
    return {**score(key, found, threshold), "candidates": candidates}


def main(argv: list[str] | None = None) -> None:
    parser = options(__doc__)
    parser.add_argument("--rows", type=int, default=None, help="rows per key (default 20000; --quick 4000)")
    parser.add_argument("--pairs", type=int, default=None, help="planted copies per key (default rows / 10)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one key per seed")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--baseline", type=Path, help="another dedup.py, scored on the same keys")
    args = parse(parser, argv)
    n_rows = args.rows or (4_000 if args.quick else 20_000)
    n_pairs = args.pairs or n_rows // 10
    report = Report("dedup_answer_key", "near duplicates against an exact answer key", argv)
    versions = {"this checkout": None} | ({f"baseline ({args.baseline.name})": args.baseline} if args.baseline else {})
    rows = []
    for seed in args.seeds:
        made = Call(make_answer_key, n_rows, n_pairs, seed).measure()
        key = made.output
        for name, dedup_file in versions.items():
            for num_perm in args.num_perm:
                m = Call(run, dedup_file, key, args.threshold, num_perm).measure()
                r = m.output
                rows.append(
                    {
                        "key (seed)": seed,
                        "version": name,
                        "permutations": num_perm,
                        f"true pairs >= {args.threshold}": len(key.similar(args.threshold)),
                        "marked": r["found"],
                        "recall": round(r["recall"], 4),
                        "precision": round(r["precision"], 4),
                        "LSH candidates": r["candidates"],
                        "wall s": m.wall_s,
                        "missed (true Jaccard)": ", ".join(map(str, r["missed"][:6])) or "-",
                        "wrongly marked (true Jaccard)": ", ".join(map(str, r["wrong"][:6])) or "-",
                    }
                )
        report.line(
            f"key {seed}: {len(key.prompts):,} rows, {key.planted:,} planted copies, {len(key.pairs):,} pairs with "
            f"Jaccard >= {key.floor}, built in {made.wall_s:.1f} s"
        )
    report.table(rows)
    report.write(args.results)


if __name__ == "__main__":
    main()
