"""Exact and near-duplicate detection: normalisation, first occurrence stays, datasketch equivalence."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classit_data.validate.dedup import (
    LSH_WEIGHTS,
    SIDE_SEEDS,
    DedupConfig,
    _band_candidates,
    find_duplicates,
    jaccard,
    minhash_signatures,
    near_duplicate_pairs,
    normalized,
    row_shingles,
    row_signatures,
    shingle_arrays,
    shingle_sets,
    side_shingles,
)

WORDS = (
    "river mountain village teacher garden winter summer kitchen market library station bridge forest island "
    "harbor painter farmer doctor student engine window letter pocket basket candle mirror ladder blanket "
    "pencil guitar violin rabbit turtle falcon salmon orchard meadow canyon glacier desert valley"
).split()


def rows(pairs: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": [f"r{i}" for i in range(len(pairs))], "prompt": [p for p, _ in pairs], "reply": [r for _, r in pairs]}
    )


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def shingle_hashes(prompts: pl.Series, replies: pl.Series, shingle_size: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(row index, 32-bit hash) of every word n-gram of every row's prompt and reply, rows grouped in order:
    each row's whole shingle set, which ``row_signatures`` never builds (it signs the two sides apart)."""
    sides = [side_shingles(texts, shingle_size, seed) for texts, seed in zip((prompts, replies), SIDE_SEEDS)]
    return shingle_arrays(pl.concat(sides).sort("row", maintain_order=True))


def test_normalisation_ignores_case_punctuation_spacing_and_compatibility_forms():
    texts = pl.Series(
        ["Yeah -- I'm HERE!", "yeah i'm here", "  Yeah,   I'm here. ", "Ｙｅａｈ I'm ｈｅｒｅ", "Yeah I am here"]
    )
    out = normalized(texts).to_list()
    assert out[:4] == ["yeah i'm here"] * 4 and out[4] != out[0]


def test_exact_duplicates_point_at_the_first_occurrence_within_and_across_sources():
    df = rows(
        [
            ("Are you there?", "Yeah, I'm here."),
            ("Something else?", "Yes."),
            ("ARE YOU THERE", "yeah im here"),
            ("are you there?", "Yeah -- I'm here!"),
            ("Something else?", "No."),
        ]
    )
    res = find_duplicates(df)
    assert res.duplicate_of.to_list() == [None, None, None, "r0", None]  # "im" is not "I'm"
    assert res.kind.to_list() == [None, None, None, "exact", None]
    assert res.counts["exact"] == 1


def test_near_duplicates_keep_the_first_and_never_point_at_a_dropped_row():
    rng = random.Random(3)
    base = sentence(rng, 40)
    words = base.split()
    one_off = " ".join(words[:-1] + ["zebra"])  # ~0.95 similar to base
    further = " ".join(words[:-4] + ["zebra", "yak", "gnu", "emu"])  # ~0.9 to one_off, ~0.83 to base
    far = " ".join(words[:-12] + [sentence(rng, 12)])  # a new tail: well below 0.8
    df = rows(
        [
            ("Tell me about it.", base),
            ("Tell me about it.", one_off),
            ("Tell me about it.", further),
            ("Tell me about it.", far),
            ("Something else entirely?", sentence(rng, 30)),
        ]
    )
    res = find_duplicates(df, DedupConfig(threshold=0.8, num_perm=128))
    dup = res.duplicate_of.to_list()
    assert dup[0] is None and dup[1] == "r0" and dup[3] is None and dup[4] is None
    assert dup[2] in (None, "r0")  # never "r1": r1 is dropped, only kept rows are indexed
    assert res.kind[1] == "near" and 0.8 <= res.similarity[1] <= 1.0
    assert find_duplicates(df, DedupConfig(near=False)).duplicate_of.null_count() == 5


def test_adjacent_turn_pairs_are_not_near_duplicates():
    """(A, B) and (B, C): the same long turn as one row's reply and the next row's prompt."""
    rng = random.Random(5)
    a, b, c = "Oh, what a shame.", sentence(rng, 60), "Uh-huh, oh well."
    res = find_duplicates(rows([(a, b), (b, c)]))
    assert res.duplicate_of.to_list() == [None, None]


def test_signatures_equal_datasketch_update_batch():
    from datasketch import MinHash

    rng = random.Random(7)
    prompts = pl.Series([sentence(rng, rng.randint(0, 12)) for _ in range(25)])
    replies = pl.Series([sentence(rng, rng.randint(1, 30)) for _ in range(25)])
    cfg = DedupConfig(num_perm=32, seed=4)
    row, hv = shingle_hashes(prompts, replies, cfg.shingle_size)
    sig = minhash_signatures(row, hv, 25, cfg)
    assert np.array_equal(
        sig, row_signatures(row_shingles(prompts, replies, cfg), 25, cfg)
    )  # min of the sides = MinHash of the union
    for i in range(25):
        mine = hv[row == i]
        ref = MinHash(num_perm=32, seed=4, scheme="affine32", hashfunc=lambda x: x)
        ref.update_batch(mine.tolist())
        assert np.array_equal(ref.hashvalues, sig[i]), i


def _reference_near(prompts: pl.Series, replies: pl.Series, cfg: DedupConfig) -> dict[int, int]:
    """Every row through datasketch's MinHashLSH (no band pre-filter): what the fast path must equal."""
    from datasketch import LeanMinHash, MinHashLSH

    row, hv = shingle_hashes(prompts, replies, cfg.shingle_size)
    sig = minhash_signatures(row, hv, len(prompts), cfg)
    sets = shingle_sets(row_shingles(prompts, replies, cfg), np.arange(len(prompts)))
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, weights=LSH_WEIGHTS)
    found = {}
    for i in range(len(prompts)):
        mh = LeanMinHash(seed=cfg.seed, hashvalues=sig[i], scheme="affine32")
        sims = [(jaccard(sets[i], sets[j]), -j) for j in lsh.query(mh)]
        best = max((s for s in sims if s[0] >= cfg.threshold), default=None)
        if best is None:
            lsh.insert(i, mh)
        else:
            found[i] = -best[1]
    return found


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.5, 0.95))
def test_band_prefilter_gives_the_same_answer_as_indexing_every_row(seed, threshold):
    rng = random.Random(seed)
    prompts, replies = [], []
    for i in range(60):
        if i and rng.random() < 0.4:  # a variant of an earlier row
            j = rng.randrange(i)
            words = replies[j].split()
            for _ in range(rng.randint(0, 4)):
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            prompts.append(prompts[j])
            replies.append(" ".join(words))
        else:
            prompts.append(sentence(rng, rng.randint(2, 10)))
            replies.append(sentence(rng, rng.randint(5, 40)))
    cfg = DedupConfig(threshold=threshold, num_perm=64)
    p, r = pl.Series(prompts), pl.Series(replies)
    fast, _ = near_duplicate_pairs(p, r, cfg)
    assert {i: j for i, (j, _) in fast.items()} == _reference_near(p, r, cfg)


def test_band_candidates_are_exactly_the_rows_sharing_a_band():
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 3, 4], [5, 6, 7, 8]], dtype=np.uint32)
    assert _band_candidates(sig, bands=2, rows_per_band=2).tolist() == [0, 1, 2]


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n):
    df = rows([("Hi?", "Hello.")] * n)
    res = find_duplicates(df)
    assert res.duplicate_of.len() == n and res.counts["rows"] == n


@pytest.fixture(scope="module")
def answer_key_module():
    """The answer key's generator and scorer: the benchmark's own (``benchmarks/dedup_answer_key.py``)."""
    from benchmarks import dedup_answer_key

    return dedup_answer_key


@pytest.fixture(scope="module")
def answer_key(answer_key_module):
    return answer_key_module.make_answer_key(n_rows=3000, n_pairs=300, seed=11)


def test_answer_key_pairs_are_planted_in_range_and_their_jaccard_is_exact(answer_key_module, answer_key):
    key = answer_key
    planted = [j for _, _, j in key.pairs if j >= 0.7]
    assert len(planted) >= key.planted and all(j <= 0.95 for j in planted)  # every copy lands in 0.70-0.95
    a, b, j = key.pairs[0]
    assert answer_key_module.key_jaccard(key, a, b) == pytest.approx(j)
    assert len(key.similar(0.8)) > 50


def test_near_duplicates_on_the_answer_key_recall_99_percent_at_precision_1(answer_key_module, answer_key):
    """Candidates are confirmed by their exact Jaccard, so nothing below the threshold is ever marked."""
    key = answer_key
    found, _ = near_duplicate_pairs(pl.Series(key.prompts), pl.Series(key.replies), DedupConfig(threshold=0.8))
    scored = answer_key_module.score(key, found, 0.8)
    assert scored["precision"] == 1.0 and not scored["wrong"]
    assert scored["recall"] >= 0.99, scored["missed"]
    for b, (a, sim) in found.items():  # the reported similarity is the exact one, from the 64-bit hash path
        assert sim == pytest.approx(answer_key_module.key_jaccard(key, a, b))


def test_exact_jaccard_of_hashed_shingles_equals_that_of_word_tuples(answer_key_module):
    rng = random.Random(13)
    prompts = [sentence(rng, rng.randint(0, 6)) for _ in range(30)]
    replies = [sentence(rng, rng.randint(1, 25)) for _ in range(30)]
    sets = shingle_sets(row_shingles(pl.Series(prompts), pl.Series(replies), DedupConfig()), np.arange(30))
    tuples = [answer_key_module.shingles(p, r) for p, r in zip(prompts, replies)]
    for i in range(30):
        assert len(sets[i]) == len(tuples[i])
        for j in range(i):
            assert jaccard(sets[i], sets[j]) == pytest.approx(answer_key_module.true_jaccard(tuples[i], tuples[j]))
