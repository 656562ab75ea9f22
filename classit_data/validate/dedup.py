"""Exact and near-duplicate rows, within and across sources; the first occurrence stays.

*Exact* duplicates have the same prompt and reply once case, punctuation and spacing are normalised away
(``normalized``: the lower-cased words, NFKC, one space apart).
*Near* duplicates have word n-gram sets (shingles of the normalised prompt and reply, each side hashed
apart; a side shorter than n words is one shingle, its whole text) whose Jaccard similarity reaches a
threshold. MinHash LSH (datasketch's ``MinHashLSH``) only proposes candidates; each candidate is confirmed by
the exact Jaccard similarity of the two rows' shingle sets, so no row is dropped on an estimate. That lets the
LSH side be tuned for recall: its band layout is chosen with false negatives weighted far above false
positives (``LSH_WEIGHTS``), and the extra candidates it proposes cost one set comparison each.

Speed (130k rows on 2 cores): hashing shingles one by one in Python and querying the LSH index once per
row costs seconds each, so the work is split:

1. shingles are hashed by polars and the MinHash signatures computed with numpy, with datasketch's own
   permutations and mixing (``MinHash(...).permutations``; a test pins that the signatures equal those of
   ``MinHash.update_batch``);
2. a row can only be an LSH candidate of another when one of its LSH bands equals one of the other's, so
   the bands are compared in bulk first and only rows that share a band with some other row go through
   ``MinHashLSH`` (query, then insert if kept): the same answer as indexing every row, at a fraction of
   the cost;
3. each candidate is confirmed by the exact Jaccard similarity of the shingle sets (64-bit shingle hashes,
   built for the rows of step 2 only).

A dropped row names the row it duplicates (``duplicate_of`` = the kept row's id); a near duplicate is only
ever matched against rows that are kept, so chains never point at a dropped row.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl

#: a word: letters and digits, with inner apostrophes and hyphens ("don't", "uh-huh", "1990s")
WORD_PATTERN = r"[\p{L}\p{N}]+(?:['’\-][\p{L}\p{N}]+)*"
#: hash seeds of the prompt's and the reply's shingles: hashed apart, a turn that is one row's reply and the
#: next row's prompt (adjacent Switchboard pairs) makes no shared shingle, so the two rows are not near duplicates
SIDE_SEEDS = (0x5EED, 0xB0B)
#: weights of (false positives, false negatives) in datasketch's choice of the LSH band layout: a false
#: positive costs one exact set comparison, a false negative is a near duplicate missed for good
LSH_WEIGHTS = (0.01, 0.99)


def nfkc(texts: pl.Series) -> pl.Series:
    """Unicode NFKC, applied only to the texts that are not plain ASCII (most are; it halves the cost)."""
    texts = texts.fill_null("")
    idx = texts.str.contains(r"[^\x00-\x7F]").arg_true()
    if len(idx):
        texts = texts.scatter(idx, texts.gather(idx).str.normalize("NFKC"))
    return texts


def word_lists(texts: pl.Series) -> pl.Series:
    """The lower-cased words of each text (NFKC first); punctuation and spacing are gone."""
    return nfkc(texts).str.to_lowercase().str.extract_all(WORD_PATTERN)


def normalized(texts: pl.Series) -> pl.Series:
    """What two texts must share to be exact duplicates: their words, lower-cased, one space apart."""
    return word_lists(texts).list.join(" ")


@dataclass
class DedupConfig:
    near: bool = True
    threshold: float = 0.8
    num_perm: int = 64
    shingle_size: int = 3
    seed: int = 1


@dataclass
class DedupResult:
    """Per input row: ``duplicate_of`` (kept row's id or null), ``kind`` (``exact`` / ``near`` / null) and the
    exact Jaccard ``similarity`` of a near duplicate's shingle set to the kept row's."""

    duplicate_of: pl.Series
    kind: pl.Series
    similarity: pl.Series
    counts: dict = field(default_factory=dict)


def find_duplicates(
    df: pl.DataFrame,
    config: DedupConfig | None = None,
    *,
    id_column: str = "id",
    columns: tuple[str, str] = ("prompt", "reply"),
    normalize: bool = True,
) -> DedupResult:
    """Mark every row that repeats an earlier one (exactly after normalisation, or nearly).

    ``normalize=False``: the columns already hold ``normalized`` text (the validators compute it once).
    """
    cfg = config or DedupConfig()
    started = time.perf_counter()
    n = df.height
    norm = normalized if normalize else (lambda s: s.fill_null(""))
    key = pl.DataFrame(
        {"_p": norm(df.get_column(columns[0])), "_r": norm(df.get_column(columns[1])), "_id": df.get_column(id_column)}
    )
    # exact: the first row of each (prompt, reply) key stays, the others point at it
    first_id = pl.col("_id").first().over(["_p", "_r"])
    exact = key.select(
        pl.when(pl.struct("_p", "_r").is_first_distinct()).then(None).otherwise(first_id).alias("dup")
    ).get_column("dup")
    duplicate_of = exact.to_list()
    kind: list[str | None] = ["exact" if d is not None else None for d in duplicate_of]
    similarity: list[float | None] = [1.0 if d is not None else None for d in duplicate_of]
    counts = {
        "rows": n,
        "exact": sum(k is not None for k in kind),
        "near": 0,
        "near_candidates": 0,
        "seconds_exact": round(time.perf_counter() - started, 3),
    }
    if cfg.near and n > 1:
        t0 = time.perf_counter()
        survivors = np.flatnonzero(exact.is_null().to_numpy())
        kept = key[survivors]
        ids = key.get_column("_id").to_list()
        near, n_candidates = near_duplicate_pairs(kept.get_column("_p"), kept.get_column("_r"), cfg)
        for i, (j, sim) in near.items():  # positions in survivors
            duplicate_of[survivors[i]] = ids[survivors[j]]
            kind[survivors[i]] = "near"
            similarity[survivors[i]] = sim
        counts.update(near=len(near), near_candidates=n_candidates, seconds_near=round(time.perf_counter() - t0, 3))
    counts["seconds"] = round(time.perf_counter() - started, 3)
    return DedupResult(
        pl.Series("duplicate_of", duplicate_of, dtype=pl.String),
        pl.Series("duplicate_kind", kind, dtype=pl.String),
        pl.Series("similarity", similarity, dtype=pl.Float64),
        counts,
    )


def side_shingles(texts: pl.Series, shingle_size: int, seed: int) -> pl.DataFrame:
    """(row, 64-bit hash) of the word n-grams of one side; a text shorter than n words is one shingle, the hash
    of its whole text (even an empty one)."""
    n = shingle_size
    texts = texts.fill_null("")
    frame = pl.DataFrame({"w": texts.str.split(" ")}).with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"),
        pl.col("w").list.len().alias("len"),
        texts.hash(seed).alias("whole"),
    )
    e = frame.explode("w").with_columns(pl.col("w").hash(seed).alias("h"))
    gram = pl.col("h")
    for k in range(1, n):
        gram = gram * 0x100000001B3 + pl.col("h").shift(-k)  # wrapping multiply-add: order matters
    whole_gram_fits = pl.col("row").shift(-(n - 1)) == pl.col("row")
    first_of_row = (pl.col("row") != pl.col("row").shift(1)).fill_null(True)
    return e.select(
        "row",
        pl.when(whole_gram_fits).then(gram).when((pl.col("len") < n) & first_of_row).then(pl.col("whole")).alias("g"),
    ).drop_nulls()


def shingle_arrays(e: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row index, 32-bit hash) arrays of a frame of shingles."""
    rows = e.get_column("row").to_numpy()
    hashes = (e.get_column("g").to_numpy() & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return rows, hashes


def row_shingles(prompts: pl.Series, replies: pl.Series, cfg: DedupConfig) -> list[pl.DataFrame]:
    """Each side's (row, hash) shingles, prompt and reply hashed apart (``SIDE_SEEDS``)."""
    return [side_shingles(texts, cfg.shingle_size, seed) for texts, seed in zip((prompts, replies), SIDE_SEEDS)]


def row_signatures(sides: list[pl.DataFrame], n: int, cfg: DedupConfig) -> np.ndarray:
    """MinHash signatures of each row's shingles: the MinHash of a union is the element-wise minimum of the
    parts' MinHashes, so each side is signed on its own and no sort is needed."""
    return np.minimum(*(minhash_signatures(*shingle_arrays(side), n, cfg) for side in sides))


def shingle_sets(sides: list[pl.DataFrame], rows: np.ndarray) -> dict[int, frozenset[int]]:
    """{row: its set of 64-bit shingle hashes, both sides}, for the given rows only (the LSH candidates)."""
    wanted = pl.Series("row", rows, dtype=pl.UInt32).implode()
    kept = pl.concat([side.filter(pl.col("row").is_in(wanted)) for side in sides])  # filtered before the concat
    grouped = kept.group_by("row").agg(pl.col("g").unique())
    return dict(zip(grouped.get_column("row").to_list(), map(frozenset, grouped.get_column("g").to_list())))


def jaccard(a: frozenset, b: frozenset) -> float:
    """Exact Jaccard similarity of two shingle sets."""
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def _minhash_template(cfg: DedupConfig):
    from datasketch import MinHash

    return MinHash(num_perm=cfg.num_perm, seed=cfg.seed, scheme="affine32")


def minhash_signatures(rows: np.ndarray, hashes: np.ndarray, n_rows: int, cfg: DedupConfig) -> np.ndarray:
    """(n_rows, num_perm) uint32 signatures, equal to datasketch's ``MinHash.update_batch`` of each row's hashes.

    datasketch's affine32 scheme: mix each 32-bit hash with the MurmurHash3 finalizer, apply the
    permutations ``a * h + b`` (mod 2^32) and keep the minimum per permutation.
    """
    from datasketch.minhash import _fmix

    template = _minhash_template(cfg)
    a, b = (np.asarray(p, dtype=np.uint32) for p in template.permutations)
    mixed = _fmix(hashes.astype(np.uint32), 32)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.array([], dtype=np.int64)
    if len(starts) != n_rows:
        raise ValueError("every row needs at least one shingle")
    sig = np.empty((cfg.num_perm, n_rows), dtype=np.uint32)
    if not n_rows:
        return sig.T.copy()

    def permute(ks: range) -> None:  # one permutation at a time keeps memory at one array of shingles
        with np.errstate(over="ignore"):
            for k in ks:
                np.minimum.reduceat(mixed * a[k] + b[k], starts, out=sig[k])

    workers = max(1, min(os.cpu_count() or 1, 4))  # numpy releases the GIL: threads share the permutations
    step = -(-cfg.num_perm // workers)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(permute, [range(i, min(i + step, cfg.num_perm)) for i in range(0, cfg.num_perm, step)]))
    return np.ascontiguousarray(sig.T)


def _band_candidates(sig: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """Rows that share at least one whole LSH band with another row (no other row can be an LSH candidate).

    A band's values are folded into one 64-bit key: equal bands give equal keys, so no candidate is missed;
    the rare unequal bands whose keys collide only cost an LSH query that finds nothing.
    """
    shared = np.zeros(sig.shape[0], dtype=bool)
    mult = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.zeros(sig.shape[0], dtype=np.uint64)
            for col in range(band * rows_per_band, (band + 1) * rows_per_band):
                key = (key ^ sig[:, col].astype(np.uint64)) * mult
            shared |= pl.Series(key).is_duplicated().to_numpy()
    return np.flatnonzero(shared)


def near_duplicate_pairs(
    prompts: pl.Series, replies: pl.Series, cfg: DedupConfig
) -> tuple[dict[int, tuple[int, float]], int]:
    """{row: (earlier kept row it nearly duplicates, exact Jaccard)} over normalised texts, and the number of
    rows that went through the LSH index."""
    from datasketch import LeanMinHash, MinHashLSH

    sides = row_shingles(prompts, replies, cfg)
    sig = row_signatures(sides, len(prompts), cfg)
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, weights=LSH_WEIGHTS)
    candidates = _band_candidates(sig, lsh.b, lsh.r)
    sets = shingle_sets(sides, candidates)
    found: dict[int, tuple[int, float]] = {}
    for i in candidates.tolist():  # input order: earlier rows are indexed first
        mh = LeanMinHash(seed=cfg.seed, hashvalues=sig[i], scheme="affine32")
        best, best_sim = None, -1.0
        for j in lsh.query(mh):
            sim = jaccard(sets[i], sets[j])
            if sim >= cfg.threshold and (sim > best_sim or (sim == best_sim and j < best)):
                best, best_sim = j, sim
        if best is None:
            lsh.insert(i, mh, check_duplication=False)
        else:
            found[i] = (best, best_sim)
    return found, len(candidates)
