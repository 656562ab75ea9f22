"""classit-train eval: task readers, scoring conventions, batching that changes nothing, results files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from classit_data.core.errors import InputError
from tests.helpers import tiny_chat_model

torch = pytest.importorskip("torch")


# -- models -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedded_dir() -> Path:
    from classit_data.core.models import embedded_model_dir

    return embedded_model_dir()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer Llama with the embedded model's tokenizer, saved as a model folder."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    settings = dict(max_position_embeddings=256, tie_word_embeddings=True, pad_token_id=None)
    return tiny_chat_model(folder, weight_std=0.3, **settings)


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    from classit_train.evaluate.scoring import load_model

    model, tok, _ = load_model(tiny_dir, device="cpu")
    return model, tok


def reference_score(model, ids: list[int], first_scored: int) -> float:
    """Straightforward: one sequence, no padding, sum log p(ids[i] | ids[:i]) for i >= first_scored."""
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
    return float(sum(logp[i - 1, ids[i]] for i in range(max(first_scored, 1), len(ids))))


SENTENCES = [
    "The cat sat.",
    "Who did the doctor visit yesterday before the long meeting at the hospital?",
    "A",
    "Many teachers liked this book, but few students had read it before the exam started.",
    "Box 0 contains the apple.",
    "She is so nutive. Her nutivity impressed everyone.",
    "Hi!",
]


# -- scoring conventions ------------------------------------------------------------------------------------
def test_batched_scores_equal_one_at_a_time(tiny):
    from classit_train.evaluate.scoring import CausalScorer

    model, tok = tiny
    scorer = CausalScorer(model, tok, first_token="official")
    pairs = [("", s) for s in SENTENCES] * 2 + [("The box is heavier than the ball.", " The ball is light.")]
    batched = scorer.score(pairs, batch_size=5)
    single = scorer.score(pairs, batch_size=1)
    for (prefix, completion), b, s in zip(pairs, batched, single):
        if prefix:
            n_prefix = len(tok(prefix)["input_ids"])
            ids = tok(prefix + completion)["input_ids"]
            assert ids[:n_prefix] == tok(prefix)["input_ids"]
            ref = reference_score(model, ids, n_prefix)
        else:
            ref = reference_score(model, tok(completion)["input_ids"], 1)
        assert abs(b - ref) < 1e-4, (completion, b, ref)
        assert abs(b - s) < 1e-4
    # the scores are real numbers that differ between sentences, not a constant
    assert len({round(x, 3) for x in batched}) > 5


def test_official_mode_does_not_score_first_token_without_bos(tiny):
    """SmolLM2's tokenizer adds no BOS: 'official' scores tokens 2..n given token 1; 'bos' scores all of them
    given <|im_start|>."""
    from classit_train.evaluate.scoring import CausalScorer

    model, tok = tiny
    sentence = "The cat sat on the mat."
    ids = tok(sentence)["input_ids"]
    assert ids[0] != tok.bos_token_id  # the tokenizer adds nothing
    official = CausalScorer(model, tok, first_token="official")
    bos = CausalScorer(model, tok, first_token="bos")
    assert official.first_token_scored() is False and bos.first_token_scored() is True
    assert official.encode("", sentence).scored == [False] + [True] * (len(ids) - 1)
    assert bos.encode("", sentence).ids == [tok.bos_token_id] + ids
    [s_official] = official.score([("", sentence)])
    [s_bos] = bos.score([("", sentence)])
    assert abs(s_official - reference_score(model, ids, 1)) < 1e-4
    assert abs(s_bos - reference_score(model, [tok.bos_token_id] + ids, 1)) < 1e-4
    # a one-token sentence has nothing to score without a start token
    assert official.score([("", "A")]) == [0.0]
    assert bos.score([("", "A")])[0] < 0


def test_official_mode_scores_first_token_when_tokenizer_adds_bos(tiny_dir):
    """With a tokenizer that adds BOS itself (as Llama's does), 'official' and 'bos' agree."""
    from tokenizers.processors import TemplateProcessing

    from classit_train.evaluate.scoring import CausalScorer, load_model

    model, tok, _ = load_model(tiny_dir, device="cpu")
    tok._tokenizer.post_processor = TemplateProcessing(
        single=f"{tok.bos_token} $A", special_tokens=[(tok.bos_token, tok.bos_token_id)]
    )
    official = CausalScorer(model, tok, first_token="official")
    assert official.first_token_scored() is True
    enc = official.encode("", "The cat sat.")
    assert enc.ids[0] == tok.bos_token_id and enc.scored[0] is False and all(enc.scored[1:])
    bos = CausalScorer(model, tok, first_token="bos")
    s1, s2 = official.score([("", "The cat sat.")])[0], bos.score([("", "The cat sat.")])[0]
    assert abs(s1 - s2) < 1e-5


def test_only_completion_tokens_are_scored(tiny):
    from classit_train.evaluate.scoring import CausalScorer

    model, tok = tiny
    scorer = CausalScorer(model, tok)
    prefix, completion = "Mia always shares her toys.", " Mia is generous."
    enc = scorer.encode(prefix, completion)
    n_prefix = len(tok(prefix)["input_ids"])
    assert enc.scored == [False] * n_prefix + [True] * (len(enc.ids) - n_prefix)
    # a token straddling the boundary belongs to the completion (as in the official pipeline)
    enc2 = scorer.encode("Box 0 contains the app", "le.")
    text_ids = tok("Box 0 contains the apple.")["input_ids"]
    assert enc2.ids == text_ids and sum(enc2.scored) >= 1


def test_invalid_scorer_settings(tiny):
    from classit_train.evaluate.scoring import CausalScorer

    model, tok = tiny
    with pytest.raises(InputError, match="first_token"):
        CausalScorer(model, tok, first_token="sometimes")
    with pytest.raises(InputError, match="batch size"):
        CausalScorer(model, tok).score([("", "Hi there.")], batch_size=0)
    with pytest.raises(InputError, match="more than the model"):
        CausalScorer(model, tok).score([("", "word " * 400)])


# -- task readers -------------------------------------------------------------------------------------------
def test_read_blimp_folder_and_fields(eval_data):
    from classit_train.evaluate.tasks import read_task

    items = read_task("blimp", eval_data / "blimp")
    assert len(items) == 6
    assert {i.uid for i in items} == {"determiner_agreement", "wh_questions", "quantifiers"}
    q = next(i for i in items if i.uid == "quantifiers")
    assert q.groups["field"] == "syntax/semantics" and q.prefix == "" and q.label == 0
    assert q.completions == ["There were few apples on the table.", "There were most apples on the table."]
    assert q.source.endswith("quantifiers.jsonl:1")
    limited = read_task("blimp", eval_data / "blimp", limit=1)
    assert sorted(i.uid for i in limited) == ["determiner_agreement", "quantifiers", "wh_questions"]


def test_read_supplement_uses_file_name(eval_data):
    from classit_train.evaluate.tasks import read_task

    items = read_task("blimp_supplement", eval_data / "supplement")
    assert {i.uid for i in items} == {"turn_taking", "hypernym"}
    assert all(i.groups == {"field": "supplement"} for i in items)


def test_read_ewok_official_and_both_contexts(eval_data):
    from classit_train.evaluate.tasks import read_task

    items = read_task("ewok", eval_data / "ewok")
    assert len(items) == 3
    first = items[0]
    assert first.prefix == "The box is heavier than the ball."
    assert first.completions == [" The ball is lighter than the box.", " The ball is heavier than the box."]
    assert first.uid == "physical-relations" and first.groups["TargetDiff"] == "relation"
    both = read_task("ewok", eval_data / "ewok", ewok_contexts="both")
    assert len(both) == 6
    mirrored = both[1]
    assert mirrored.prefix == "The box is lighter than the ball."
    assert mirrored.completions == [" The ball is heavier than the box.", " The ball is lighter than the box."]


def test_read_entity_tracking_and_wug(eval_data):
    from classit_train.evaluate.tasks import read_task, result_key

    items = read_task("entity_tracking", eval_data / "entity_tracking")
    assert [i.uid for i in items] == ["move_contents_1_ops", "regular_0_ops", "regular_0_ops", "regular_1_ops"]
    assert items[1].completions[0] == " the apple." and len(items[1].completions) == 3
    wug = read_task("wug", eval_data / "wug")
    assert len(wug) == 4 and wug[0].ratio == 0.8 and len(wug[0].completions) == 2
    assert wug[0].completions[0].endswith("blickishness is remarkable.")
    assert result_key("wug", eval_data / "wug" / "wug_adj_nominalization.jsonl") == "wug_adj"
    assert result_key("wug", "x/wug_past_tense") == "wug_past"


@pytest.mark.parametrize(
    "task,content,message",
    [
        ("blimp", '{"sentence_good": "A b.", "field": "syntax", "UID": "x"}\n', "missing field.*sentence_bad"),
        ("blimp", '{"sentence_good": "A b.", "sentence_bad": "B a.", "field": "syntax"}\n', "missing field.*UID"),
        ("ewok", '{"Context1": "a", "Target1": "b", "Target2": "c"}\n', "missing field.*Context2"),
        ("entity_tracking", '{"input_prefix": "Box 0", "options": "x"}\n', "options must be a list"),
        ("wug", '{"sentences": "only one", "ratio": 0.3}\n', "at least two"),
        ("wug", '{"sentences": "a\\tb", "ratio": "high"}\n', "ratio is not a number"),
        (
            "blimp",
            '{"sentence_good": "A b.", "sentence_bad": "B a.", "field": "s", "UID": "u"}\n{not json\n',
            "malformed JSON line",
        ),
        ("blimp", "", "empty file"),
        ("blimp", "\n\n", "empty file"),
    ],
)
def test_reader_errors(tmp_path, task, content, message):
    from classit_train.evaluate.tasks import read_task

    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        read_task(task, f)
    assert str(f) in exc.value.one_line()


def test_reader_errors_paths(tmp_path, eval_data):
    from classit_train.evaluate.tasks import read_task

    with pytest.raises(InputError, match="unknown task"):
        read_task("glue", eval_data / "blimp")
    with pytest.raises(InputError, match="no such file"):
        read_task("blimp", tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="no .jsonl"):
        read_task("blimp", tmp_path)
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="JSON-lines"):
        read_task("blimp", tmp_path / "data.csv")
    bad = tmp_path / "line3.jsonl"
    bad.write_text(
        '{"sentence_good": "A.", "sentence_bad": "B.", "field": "f", "UID": "u"}\n\n{"sentence_good": "A."}\n'
    )
    with pytest.raises(InputError) as exc:
        read_task("blimp", bad)
    assert exc.value.where == 3


# -- aggregation --------------------------------------------------------------------------------------------
def test_summarise_macro_over_uids_and_per_field():
    from classit_train.evaluate.metrics import summarise
    from classit_train.evaluate.tasks import EvalItem

    items = (
        [EvalItem("a", "", ["g", "b"], groups={"field": "syntax"}) for _ in range(4)]
        + [EvalItem("b", "", ["g", "b"], groups={"field": "syntax"})]
        + [EvalItem("c", "", ["g", "b"], groups={"field": "morphology"}) for _ in range(2)]
    )
    scores = [
        [-1, -2],
        [-1, -2],
        [-1, -2],
        [-3, -2],  # a: 3/4
        [-5, -2],  # b: 0/1
        [-1, -2],
        [-1, -1],
    ]  # c: 2/2 (a tie goes to the first candidate)
    result, rows = summarise("blimp", items, scores)
    assert result["by_uid"] == {"a": 75.0, "b": 0.0, "c": 100.0}
    assert result["accuracy"] == pytest.approx((75 + 0 + 100) / 3)
    assert result["micro_accuracy"] == pytest.approx(100 * 5 / 7)
    assert result["by_field"] == {"morphology": 100.0, "syntax": 60.0}
    assert [r["correct"] for r in rows] == [True, True, True, False, False, True, True]
    assert rows[3]["pred"] == "b" and rows[3]["id"] == "a_3"


def test_summarise_entity_tracking_averages_splits_then_uids():
    from classit_train.evaluate.metrics import summarise
    from classit_train.evaluate.tasks import EvalItem

    items = [
        EvalItem("regular_0_ops", "p", ["x", "y"], groups={"split": "regular"}),
        EvalItem("regular_1_ops", "p", ["x", "y"], groups={"split": "regular"}),
        EvalItem("ambiref_0_ops", "p", ["x", "y"], groups={"split": "ambiref"}),
    ]
    result, _ = summarise("entity_tracking", items, [[0, -1], [-1, 0], [0, -1]])
    assert result["groups"]["split"] == {"ambiref": 100.0, "regular": 50.0}
    assert result["accuracy"] == pytest.approx(75.0)


def test_summarise_wug_spearman():
    from scipy.stats import spearmanr

    from classit_train.evaluate.metrics import summarise
    from classit_train.evaluate.tasks import EvalItem

    items = [EvalItem("wug_adj", "", ["a", "b"], ratio=r) for r in (0.9, 0.6, 0.3, 0.1)]
    scores = [[-1.0, -3.0], [-2.0, -2.5], [-3.0, -2.0], [-4.0, -1.0]]
    result, rows = summarise("wug", items, scores)
    assert result["spearman"] == pytest.approx(1.0) and result["score"] == pytest.approx(100.0)
    assert rows[0]["prob"] == pytest.approx(1 / (1 + math.exp(-2.0)))
    result2, _ = summarise("wug", items, scores[::-1])
    assert result2["spearman"] == pytest.approx(spearmanr([r["prob"] for r in rows][::-1], [0.9, 0.6, 0.3, 0.1])[0])


# -- end to end ---------------------------------------------------------------------------------------------
def test_evaluate_all_formats_into_one_results_file(tiny_dir, tmp_path, eval_data):
    from classit_train.evaluate import EvalConfig, evaluate

    out = tmp_path / "res" / "results.json"
    for task, folder in [
        ("blimp", "blimp"),
        ("blimp_supplement", "supplement"),
        ("ewok", "ewok"),
        ("entity_tracking", "entity_tracking"),
        ("wug", "wug"),
    ]:
        entry = evaluate(
            tiny_dir, task, eval_data / folder, out, EvalConfig(batch_size=4, device="cpu"), progress=False
        )
        assert entry.task == task
        assert json.loads(out.read_text())["tasks"][entry.task if task != "wug" else "wug_adj"] == entry.to_json()
    results = json.loads(out.read_text())
    assert results["format"] == "classit-eval/1" and results["model"] == str(tiny_dir)
    assert set(results["tasks"]) == {"blimp", "blimp_supplement", "ewok", "entity_tracking", "wug_adj"}
    blimp = results["tasks"]["blimp"]
    assert set(blimp["by_uid"]) == {"determiner_agreement", "wh_questions", "quantifiers"}
    assert blimp["accuracy"] == pytest.approx(sum(blimp["by_uid"].values()) / 3)
    assert set(blimp["by_field"]) == {"morphology", "syntax", "syntax/semantics"}
    assert blimp["scoring"]["first_token"] == "official" and blimp["scoring"]["first_token_scored"] is False
    preds = [json.loads(line) for line in (out.parent / "results.blimp.predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 6
    for row in preds:  # every saved prediction is consistent with its scores
        assert row["prediction"] == max(range(2), key=lambda k: (row["scores"][k], -k))
        assert row["correct"] == (row["prediction"] == 0)
    assert 100 * sum(r["correct"] for r in preds) / 6 == pytest.approx(blimp["micro_accuracy"])
    et = results["tasks"]["entity_tracking"]
    assert set(et["groups"]["split"]) == {"regular", "move_contents"}
    wug = results["tasks"]["wug_adj"]
    assert wug["metric"] == "spearman" and -1 <= wug["spearman"] <= 1
    wug_rows = [json.loads(x) for x in (out.parent / "results.wug_adj.predictions.jsonl").read_text().splitlines()]
    assert len(wug_rows) == 4 and all(0 < r["prob"] < 1 for r in wug_rows)


def test_evaluate_refuses_results_of_another_model(tiny_dir, tmp_path, embedded_dir, eval_data):
    from classit_train.evaluate import EvalConfig, evaluate

    out = tmp_path / "results.json"
    out.write_text(json.dumps({"format": "classit-eval/1", "model": "/some/other/model", "tasks": {}}))
    with pytest.raises(InputError, match="another model"):
        evaluate(tiny_dir, "blimp", eval_data / "blimp", out, EvalConfig(device="cpu"), progress=False)
    out.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a classit-train results file"):
        evaluate(tiny_dir, "blimp", eval_data / "blimp", out, EvalConfig(device="cpu"), progress=False)


def test_cli_eval_and_bad_input(tiny_dir, tmp_path, eval_data, cli):
    out = tmp_path / "r.json"
    ok = cli(
        "eval",
        "--model",
        tiny_dir,
        "--task",
        "ewok",
        "--data",
        eval_data / "ewok",
        "--out",
        out,
        "--batch-size",
        "2",
        "--ewok-contexts",
        "both",
        "--first-token",
        "bos",
        module="classit_train",
    )
    assert ok.returncode == 0, ok.stderr
    entry = json.loads(out.read_text())["tasks"]["ewok"]
    assert entry["n_items"] == 6 and entry["scoring"]["ewok_contexts"] == "both"
    assert entry["scoring"]["start_token"] == "<|im_start|>"

    bad = cli(
        "eval",
        "--model",
        tiny_dir,
        "--task",
        "sentiment",
        "--data",
        eval_data / "ewok",
        "--out",
        out,
        module="classit_train",
    )
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:") and "unknown task" in bad.stderr
    assert "Traceback" not in bad.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    bad2 = cli("eval", "--model", tiny_dir, "--task", "blimp", "--data", empty, "--out", out, module="classit_train")
    assert bad2.returncode == 2 and f"{empty}: empty file" in bad2.stderr
    not_a_model = tmp_path / "not_a_model"  # a folder without config.json (and without the results file)
    not_a_model.mkdir()
    bad3 = cli(
        "eval",
        "--model",
        not_a_model,
        "--task",
        "blimp",
        "--data",
        eval_data / "blimp",
        "--out",
        out,
        module="classit_train",
    )
    assert bad3.returncode == 2 and "no config.json" in bad3.stderr
    # nothing of the failed runs reached the earlier good results file
    assert set(json.loads(out.read_text())["tasks"]) == {"ewok"}


# -- the embedded model on real BLiMP ----------------------------------------------------------------------
BLIMP_SAMPLE = [
    "anaphor_gender_agreement",
    "determiner_noun_agreement_2",
    "regular_plural_subject_verb_agreement_1",
    "irregular_past_participle_verbs",
    "existential_there_quantifiers_1",
]


@pytest.mark.corpora
def test_embedded_model_above_chance_on_real_blimp(corpora, embedded_dir, tmp_path):
    """5 phenomena x 20 pairs; the embedded SmolLM2-135M-Instruct must be clearly above 50%.

    Measured when written (official convention, first token not scored): 87% macro accuracy. The larger run is in
    benchmarks/RESULTS.md.
    """
    from classit_train.evaluate import CausalScorer, EvalConfig, evaluate, load_model

    files = [corpora / "blimp" / f"{name}.jsonl" for name in BLIMP_SAMPLE]
    if not all(f.exists() for f in files):
        pytest.skip("BLiMP files missing")
    out = tmp_path / "results.json"
    entry = evaluate(
        embedded_dir, "blimp", files, out, EvalConfig(limit=20, batch_size=32, device="cpu"), progress=False
    )
    print(f"\nembedded SmolLM2 on 5x20 BLiMP pairs: {entry.accuracy:.1f}% (by UID {entry.by_uid})")
    assert entry.n_items == 100 and entry.n_uids == 5
    assert entry.accuracy >= 70.0
    # and batched scores of the real model equal one-at-a-time scores
    model, tok, _ = load_model(embedded_dir, device="cpu")
    rows = [json.loads(x) for x in (tmp_path / "results.blimp.predictions.jsonl").read_text().splitlines()[:6]]
    scorer = CausalScorer(model, tok)
    single = scorer.score([("", s) for r in rows for s in r["completions"]], batch_size=1)
    batched = [s for r in rows for s in r["scores"]]
    assert max(abs(a - b) for a, b in zip(single, batched)) < 1e-4


def official_phrase_logprob(model, tok, sentence: str, completion: str) -> float:
    """The official pipeline's causal score of one candidate, one at a time (sentence_zero_shot/dataset.py as
    described): ``tokenizer(sentence)`` with offsets; a token counts when its end passes
    ``len(sentence) - len(completion) + offsets[0][0]``; the first token is never scored (the mask is shifted)."""
    enc = tok(sentence, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    start_char = len(sentence) - len(completion) + offsets[0][0]
    mask = [1 if end > start_char else 0 for _, end in offsets]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids[:-1]])).logits[0]
    lp = torch.log_softmax(logits, -1).gather(-1, torch.tensor(ids[1:]).unsqueeze(-1)).squeeze(-1)
    return float((lp * torch.tensor(mask[1:])).sum())


@pytest.mark.parametrize(
    ("task", "folder"),
    [("blimp", "blimp"), ("ewok", "ewok"), ("entity_tracking", "entity_tracking"), ("wug", "wug")],
)
def test_official_protocol_equals_the_pipelines_per_item_scores(tiny, tiny_dir, tmp_path, eval_data, task, folder):
    from classit_train.evaluate import EvalConfig, evaluate
    from classit_train.evaluate.tasks import read_task

    model, tok = tiny
    out = tmp_path / "results.json"
    cfg = EvalConfig(batch_size=3, device="cpu", protocol="official")
    entry = evaluate(tiny_dir, task, eval_data / folder, out, cfg, progress=False)
    assert entry.scoring["protocol"] == "official"
    rows = [json.loads(x) for x in (tmp_path / entry.predictions).read_text().splitlines()]
    items = read_task(task, eval_data / folder)
    assert len(rows) == len(items)
    for row, item in zip(rows, items):
        expected = [official_phrase_logprob(model, tok, item.prefix + c, c) for c in item.completions]
        assert row["scores"] == pytest.approx(expected, abs=1e-4)
        assert row["pred"] == item.completions[max(range(len(expected)), key=lambda k: (expected[k], -k))]


def test_official_protocol_refuses_settings_the_pipeline_does_not_have(tiny_dir, tmp_path, eval_data):
    from classit_train.evaluate import EvalConfig, evaluate

    for cfg, flag in [
        (EvalConfig(device="cpu", protocol="official", first_token="bos"), "--first-token bos"),
        (EvalConfig(device="cpu", protocol="official", ewok_contexts="both"), "--ewok-contexts both"),
    ]:
        with pytest.raises(InputError, match=flag):
            evaluate(tiny_dir, "ewok", eval_data / "ewok", tmp_path / "r.json", cfg, progress=False)
        assert not (tmp_path / "r.json").exists()
