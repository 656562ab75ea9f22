"""classit-train eval --task reading: word surprisal, the pipeline's regressions (checked against statsmodels fits
built by hand), the scores' behaviour, results.json and the report, bad input."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import pytest

from classit_data.core.errors import InputError
from tests.helpers import FIXTURES

torch = pytest.importorskip("torch")

MEASURES = ("RTfirstfix", "RTfirstpass", "RTgopast", "RTrightbound", "self_paced_reading_time", "N400")
COLUMNS = [
    "",
    "item",
    "word",
    "sentence",
    "context_length",
    "sent_id",
    "Subtlex_log10",
    "length",
    *MEASURES,
    "prev_word",
    "prev_item",
    "prev_length",
]


def reading_rows(n_sentences: int = 12, seed: int = 1) -> list[dict]:
    """Rows in the pipeline's reading_data.csv layout: every word after the first of each sentence."""
    from tests.helpers import NOUNS, VERBS

    rng = random.Random(seed)
    rows = []
    for s in range(n_sentences):
        words = [rng.choice(VERBS) if i % 3 == 1 else rng.choice(NOUNS) for i in range(8)]
        words[0] = words[0].capitalize()
        for k in range(1, len(words)):
            row = {
                "": len(rows),
                "item": " ".join(words[:k]),
                "word": words[k],
                "sentence": " ".join(words),
                "context_length": k,
                "sent_id": s,
                "Subtlex_log10": round(rng.uniform(1, 5), 3),
                "length": len(words[k]),
                "prev_word": words[k - 1],
                "prev_item": " ".join(words[: k - 1]),
                "prev_length": len(words[k - 1]),
            }
            row.update({m: round(200 + 8 * len(words[k]) + rng.gauss(0, 30), 1) for m in MEASURES})
            rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict], columns=COLUMNS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def synthetic_frame(n: int = 300, seed: int = 0, weight: float = 0.0):
    """Predictors, surprisals and measures; the measures depend on surprisal with ``weight``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "Subtlex_log10": rng.uniform(1, 5, n),
            "length": rng.integers(2, 12, n).astype(float),
            "context_length": rng.integers(1, 15, n).astype(float),
            "prev_length": rng.integers(2, 12, n).astype(float),
            "surprisal": rng.gamma(2, 3, n),
            "prev_surprisal": rng.gamma(2, 3, n),
        }
    )
    for m in MEASURES:
        df[m] = 200 + 8 * df["length"] - 10 * df["Subtlex_log10"] + weight * df["surprisal"] + rng.normal(0, 30, n)
    df.loc[0, "prev_surprisal"] = math.nan  # a sentence's first word has no word before it
    return df


def by_hand(df, measure: str, predictors: list[str]) -> float:
    """The score from statsmodels OLS on design matrices with the interactions multiplied out here."""
    import numpy as np
    import statsmodels.api as sm

    rows = df[[measure, *predictors, "surprisal"]].dropna()
    cols = [rows[p].to_numpy() for p in predictors]
    cols += [rows[a].to_numpy() * rows[b].to_numpy() for i, a in enumerate(predictors) for b in predictors[i + 1 :]]
    base = sm.OLS(rows[measure].to_numpy(), sm.add_constant(np.column_stack(cols))).fit()
    full = sm.OLS(
        rows[measure].to_numpy(), sm.add_constant(np.column_stack([*cols, rows["surprisal"].to_numpy()]))
    ).fit()
    return 100 * (full.rsquared - base.rsquared) / (1 - base.rsquared)


def test_scores_match_statsmodels_fits_built_by_hand():
    from classit_train.evaluate.reading import summarise_reading

    df = synthetic_frame(weight=3.0)
    got = summarise_reading(df)
    base = ["Subtlex_log10", "length", "context_length"]
    spill = [*base, "prev_length", "prev_surprisal"]
    for m in MEASURES:
        assert got["regressions"]["no_spillover"][m]["score"] == pytest.approx(by_hand(df, m, base), rel=1e-9)
        assert got["regressions"]["spillover"][m]["score"] == pytest.approx(by_hand(df, m, spill), rel=1e-9)
    eye = [by_hand(df, m, base) for m in MEASURES[:4]]
    assert got["eye_tracking"] == pytest.approx(sum(eye) / 4) and got["score"] == got["eye_tracking"]
    assert got["self_paced_reading"] == pytest.approx(by_hand(df, "self_paced_reading_time", spill))
    assert got["regressions"]["spillover"]["N400"]["n"] == 299  # the row without a previous word is left out
    assert got["regressions"]["no_spillover"]["N400"]["n"] == 300


def test_a_measure_driven_by_surprisal_scores_high_and_noise_low():
    from classit_train.evaluate.reading import summarise_reading

    driven, noise = summarise_reading(synthetic_frame(weight=6.0)), summarise_reading(synthetic_frame(weight=0.0))
    assert driven["eye_tracking"] > 30 and driven["self_paced_reading"] > 30
    assert 0 <= noise["eye_tracking"] < 3 and 0 <= noise["self_paced_reading"] < 3
    assert driven["regressions"]["no_spillover"]["RTfirstfix"]["coefficient"] == pytest.approx(6.0, rel=0.2)
    assert driven["correlations"]["RTfirstfix"] > 0.4


@pytest.fixture(scope="module")
def reading_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("reading") / "reading_data.csv", reading_rows())


def test_eval_reading_scores_words_in_context_and_files_both_scores(base_model, reading_csv, tmp_path):
    from classit_train.evaluate import CausalScorer, EvalConfig, evaluate, load_model
    from classit_train.report import report

    out = tmp_path / "results.json"
    entry = evaluate(base_model, "reading", reading_csv, out, EvalConfig(device="cpu"), progress=False)
    assert entry.n_items == 12 * 7 and entry.metric == "reading"
    assert math.isfinite(entry.eye_tracking) and math.isfinite(entry.self_paced_reading)
    assert set(entry.regressions["no_spillover"]) == set(MEASURES)
    assert list(json.loads(out.read_text())["tasks"]["reading"])[:7] == [
        "task",
        "metric",
        "score",
        "eye_tracking",
        "self_paced_reading",
        "n_items",
        "n_uids",
    ]
    rows = [json.loads(line) for line in (tmp_path / entry.predictions).read_text().splitlines()]
    model, tok, _ = load_model(base_model, device="cpu")
    scorer = CausalScorer(model, tok)
    first, second = rows[0], rows[1]
    assert first["surprisal"] == pytest.approx(-scorer.score([(first["item"], " " + first["word"])])[0], abs=1e-4)
    # the word before a sentence's second word opens the sentence: scored without a space, after <s>
    assert first["prev_surprisal"] == pytest.approx(-scorer.score([("", first["item"])])[0], abs=1e-4)
    assert second["prev_surprisal"] == pytest.approx(first["surprisal"], abs=1e-4)
    assert all(r["surprisal"] > 0 for r in rows)
    summary = report([str(out)], tmp_path / "report")
    assert summary.scores[base_model.name]["reading"] == pytest.approx(entry.eye_tracking)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows, cols: (rows, [c for c in cols if c != "prev_length"]), "missing column(s) prev_length"),
        (lambda rows, cols: ([{**rows[0], "length": "long"}, *rows[1:]], cols), "reading_data.csv:2: column length"),
        (lambda rows, cols: ([{**rows[0], "word": " "}, *rows[1:]], cols), "reading_data.csv:2: column word is empty"),
    ],
)
def test_bad_reading_files_are_one_line(tmp_path, change, message):
    from classit_train.evaluate.reading import read_words

    rows, cols = change(reading_rows(2), list(COLUMNS))
    path = write_csv(tmp_path / "reading_data.csv", rows, cols)
    with pytest.raises(InputError) as err:
        read_words([path])
    assert message in str(err.value)


def test_missing_values_are_nan_and_too_few_rows_is_an_error(tmp_path):
    from classit_train.evaluate.reading import read_words, summarise_reading

    rows = reading_rows(2)
    rows[0]["RTfirstfix"] = "NA"
    rows[1]["prev_word"], rows[1]["prev_item"] = "", ""
    df = read_words([write_csv(tmp_path / "reading_data.csv", rows)])
    assert math.isnan(df["RTfirstfix"][0]) and df["word"][1] == rows[1]["word"]
    with pytest.raises(InputError, match="too few"):
        summarise_reading(df.assign(surprisal=1.0, prev_surprisal=1.0).head(5))


def test_cli_eval_reading_and_a_missing_file(base_model, reading_csv, tmp_path, capsys):
    from classit_data.core.commands import run_app
    from classit_train.cli import app

    out = tmp_path / "results.json"
    args = [
        "eval",
        "--model",
        str(base_model),
        "--task",
        "reading",
        "--data",
        str(reading_csv),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--json",
    ]
    assert run_app(app, "classit-train", args) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["self_paced_reading"] == json.loads(out.read_text())["tasks"]["reading"]["self_paced_reading"]
    missing = tmp_path / "nope.csv"
    assert run_app(app, "classit-train", args[:6] + [str(missing), "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {missing}: no such file" and not (tmp_path / "r.json").exists()


# -- the official protocol ----------------------------------------------------------------------------------
#: hand-written sentences in the pipeline's reading_data.csv layout, every measure of its run.py present
OFFICIAL_CSV = FIXTURES / "eval" / "reading" / "reading_data.csv"
#: per-word surprisals and scores of the official pipeline's own reading/run.py on OFFICIAL_CSV with the embedded
#: model (see the file for the command that produced them)
OFFICIAL_EXPECTED = FIXTURES / "eval" / "reading" / "official_run_py.json"


def get_p2_by_hand(model, tok, item: str, word: str) -> float:
    """The official get_p2, one word at a time, from its description: the word's first token after the
    context; every further token decoded, appended as text and re-tokenized with the context; p multiplied."""
    import numpy as np

    def p_next(context: str, piece: str) -> float:
        ids = tok(context, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, -1]
        return torch.softmax(logits, -1)[tok(piece, add_special_tokens=False)["input_ids"][0]].item()

    target = tok(word, add_special_tokens=False)["input_ids"]
    probs, context = [p_next(item, tok.decode(target[0]))], item + tok.decode(target[0])
    for token in target[1:]:
        probs.append(p_next(context, tok.decode(token)))
        context += tok.decode(token)
    return -math.log(float(np.prod(probs)))


@pytest.fixture(scope="module")
def embedded():
    from classit_train.evaluate import load_model

    model, tok, _ = load_model("smollm2", device="cpu")
    return model, tok


def test_official_queries_glue_the_word_to_its_context_and_retokenize_pieces(embedded):
    from classit_train.evaluate.reading import official_queries

    _, tok = embedded
    [(context, target)] = official_queries(tok, "The old fisherman placed", "the")
    assert context == "The old fisherman placed" and target == tok("the", add_special_tokens=False)["input_ids"][0]
    pieces = tok("hippopotamus", add_special_tokens=False)["input_ids"]
    queries = official_queries(tok, "how quickly the", "hippopotamus")
    assert len(pieces) > 1 and len(queries) == len(pieces)
    assert queries[1][0] == "how quickly the" + tok.decode(pieces[0])


def test_official_protocol_equals_get_p2_by_hand_and_the_official_run_py(embedded, tmp_path):
    """Per-word surprisals within 1e-4 nats of an unbatched re-implementation and of the numbers the official
    run.py wrote for the same file and model; its eye-tracking and self-paced scores within 0.01."""
    from classit_train.evaluate import EvalConfig, evaluate
    from classit_train.evaluate.reading import read_words

    model, tok = embedded
    out = tmp_path / "results.json"
    cfg = EvalConfig(device="cpu", protocol="official", batch_size=8)
    entry = evaluate("smollm2", "reading", OFFICIAL_CSV, out, cfg, progress=False)
    rows = [json.loads(line) for line in (tmp_path / entry.predictions).read_text().splitlines()]
    df = read_words([OFFICIAL_CSV])
    for row, item, word in list(zip(rows, df["item"], df["word"]))[::9]:
        assert row["surprisal"] == pytest.approx(get_p2_by_hand(model, tok, item or "None", word), abs=1e-4)
    expected = json.loads(OFFICIAL_EXPECTED.read_text())
    assert [r["surprisal"] for r in rows] == pytest.approx(expected["pred"], abs=1e-4)
    prev = [math.nan if r["prev_surprisal"] is None else r["prev_surprisal"] for r in rows]
    assert prev == pytest.approx(expected["prev_pred"], abs=1e-4, nan_ok=True)
    assert entry.eye_tracking == pytest.approx(expected["eye_tracking_score"], abs=0.01)
    assert entry.self_paced_reading == pytest.approx(expected["self_paced_reading_score"], abs=0.01)
    assert entry.scoring["protocol"] == "official"
    from classit_train.report import report

    shown = report([str(out)], tmp_path / "report")
    assert [m for m in shown.models if m.endswith(" [official]")] == shown.models != []
    assert "[official]" in (tmp_path / "report" / "report.md").read_text()


def test_standard_protocol_is_unchanged_and_differs_from_official(embedded, tmp_path):
    """The default scores ' word' in context (as before the protocols existed); the official protocol does not."""
    from classit_train.evaluate import CausalScorer, EvalConfig, evaluate

    model, tok = embedded
    out = tmp_path / "results.json"
    entry = evaluate("smollm2", "reading", OFFICIAL_CSV, out, EvalConfig(device="cpu"), progress=False)
    rows = [json.loads(line) for line in (tmp_path / entry.predictions).read_text().splitlines()]
    scorer = CausalScorer(model, tok)
    row = rows[3]
    assert row["surprisal"] == pytest.approx(-scorer.score([(row["item"], " " + row["word"])])[0], abs=1e-4)
    assert entry.scoring["protocol"] == "standard"
    expected = json.loads(OFFICIAL_EXPECTED.read_text())
    assert sum(abs(r["surprisal"] - e) > 0.5 for r, e in zip(rows, expected["pred"])) > len(rows) / 2
