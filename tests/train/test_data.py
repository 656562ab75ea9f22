"""Examples, loss masks, packing and curricula of classit-train, on a tiny model with a real tokenizer."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from classit_data.core.template import TextTemplate, default_template
from classit_train import data as D
from tests.helpers import instruction_rows


@pytest.fixture(scope="module")
def tok(base_model):
    from classit_train.tokenizer import load_tokenizer

    return load_tokenizer(base_model)


@pytest.fixture(scope="module")
def model(base_model):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_pretrained(base_model, attn_implementation="sdpa", dtype=torch.float32)
    # random-init weights are near-uniform; perturb them so that wrong attention shows in the loss
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return m.eval()


@pytest.fixture(scope="module")
def examples(tok):
    rows = instruction_rows("switchboard", 3, 4, seed=1) + instruction_rows("simple_wiki", 3, 4, seed=2)
    out = []
    for source in ("switchboard", "simple_wiki"):
        out += D.encode_instructions([r for r in rows if r["source"] == source], source, tok, default_template(), 256)
    return out


def test_prefix_and_completion_tokenize_like_the_whole_text(tok, examples):
    tpl = default_template()
    for r in instruction_rows("simple_wiki", 2, 3, seed=5):
        prefix, completion = D.split_for_loss(tpl, r["prompt"], r["reply"])
        assert prefix + completion == tpl.render(r["prompt"], r["reply"])
        assert not prefix[-1].isspace()
        whole = tok(prefix + completion, add_special_tokens=False)["input_ids"]
        parts = (
            tok(prefix, add_special_tokens=False)["input_ids"] + tok(completion, add_special_tokens=False)["input_ids"]
        )
        assert whole == parts


def test_only_reply_tokens_and_eos_carry_labels(tok, examples):
    tpl = default_template()
    row = instruction_rows("switchboard", 1, 1, seed=3)[0]
    (ex,) = D.encode_instructions([row], "switchboard", tok, tpl, 256)
    prefix, completion = D.split_for_loss(tpl, row["prompt"], row["reply"])
    n_prefix = len(tok(prefix, add_special_tokens=False)["input_ids"])
    reply_ids = tok(completion, add_special_tokens=False)["input_ids"]
    assert ex.input_ids[0] == tok.bos_token_id and ex.input_ids[-1] == tok.eos_token_id
    assert ex.labels[: 1 + n_prefix].tolist() == [D.IGNORE_INDEX] * (1 + n_prefix)
    assert ex.labels[1 + n_prefix :].tolist() == reply_ids + [tok.eos_token_id]
    assert tok.decode(reply_ids) == completion
    assert ex.words == len(row["prompt"].split()) + len(row["reply"].split())


def test_prompt_tokens_add_nothing_to_the_loss(model, examples):
    """The batch loss equals the mean NLL of the reply tokens alone, and does not move when the prompt's
    predictions are made arbitrarily bad (which would change any loss that counted them)."""
    collate = D.Collator(pad_id=0, packing=False)
    batch = collate([{"examples": [e]} for e in examples[:6]])
    with torch.no_grad():
        out = model(**batch)
    logp = torch.log_softmax(out.logits[:, :-1].float(), -1)
    targets = batch["input_ids"][:, 1:]
    is_reply = batch["labels"][:, 1:] != D.IGNORE_INDEX
    nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    assert out.loss.item() == pytest.approx(nll[is_reply].mean().item(), rel=1e-5)
    prompt_positions = (batch["attention_mask"][:, 1:] == 1) & ~is_reply
    assert prompt_positions.sum() > 0 and nll[prompt_positions].mean() > 0  # there were prompt tokens to ignore
    # a loss computed from the labels is blind to what the model says at prompt positions
    from transformers.loss.loss_utils import ForCausalLMLoss

    bad = out.logits.clone()
    shifted = torch.zeros_like(bad, dtype=torch.bool)
    shifted[:, :-1] = prompt_positions.unsqueeze(-1)
    bad[shifted] = -50.0
    assert ForCausalLMLoss(bad, batch["labels"], bad.shape[-1]).item() == pytest.approx(out.loss.item(), rel=1e-6)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_and_padded_batches_give_the_same_loss(model, examples, attn):
    model.config._attn_implementation = attn
    try:
        padded = D.Collator(pad_id=0, packing=False)([{"examples": [e]} for e in examples])
        rows = D.pack_greedy(torch.arange(len(examples)).numpy(), [len(e) for e in examples], 160)
        assert len(rows) < len(examples)  # several examples per row
        packed = D.Collator(pad_id=0, packing=True)([{"examples": [examples[i] for i in r]} for r in rows])
        assert "attention_mask" not in packed
        with torch.no_grad():
            loss_padded = model(**padded).loss.item()
            loss_packed = model(**packed).loss.item()
            # the same rows with positions running on (no reset): examples see each other and the loss moves
            leaky = dict(packed, position_ids=torch.arange(packed["input_ids"].shape[1]).expand_as(packed["input_ids"]))
            loss_leaky = model(**leaky).loss.item()
    finally:
        model.config._attn_implementation = "sdpa"
    assert loss_packed == pytest.approx(loss_padded, rel=1e-5, abs=1e-5)
    assert abs(loss_leaky - loss_padded) > 1e-3


def test_pack_greedy_keeps_order_and_length():
    lengths = [5, 9, 3, 12, 1, 7, 7, 20, 2]
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(0)).numpy()
    rows = D.pack_greedy(order, lengths, 20)
    assert [i for r in rows for i in r] == order.tolist()
    assert all(sum(lengths[i] for i in r) <= 20 for r in rows)
    # greedy: the next example did not fit in the row before
    for a, b in zip(rows, rows[1:]):
        assert sum(lengths[i] for i in a) + lengths[b[0]] > 20


@pytest.mark.parametrize(
    "curriculum, expected",
    [
        ("merged", [{"switchboard", "simple_wiki"}]),
        ("switch_wiki", [{"switchboard"}, {"simple_wiki"}]),
        ("wiki_switch", [{"simple_wiki"}, {"switchboard"}]),
    ],
)
@pytest.mark.parametrize("packing", [True, False])
def test_each_curriculum_visits_the_sources_in_its_order(examples, curriculum, expected, packing):
    epochs = 3
    groups = D.make_plan(examples, curriculum, epochs, seed=7, packing=packing, max_length=120)
    by_phase: list[set[str]] = []
    last_phase = -1
    for g in groups:
        assert g.phase >= last_phase  # phases never go back
        if g.phase != last_phase:
            by_phase.append(set())
            last_phase = g.phase
        by_phase[-1].update(examples[i].source for i in g.indices)
    assert by_phase == expected
    seen = Counter(i for g in groups for i in g.indices)
    assert set(seen.values()) == {epochs} and len(seen) == len(examples)  # every example once per epoch
    # each epoch is reshuffled
    per_epoch = [[i for g in groups if g.epoch == e and g.phase == 0 for i in g.indices] for e in range(epochs)]
    assert per_epoch[0] != per_epoch[1]
    assert D.make_plan(examples, curriculum, epochs, seed=7, packing=packing, max_length=120) == groups


def test_heldout_choice_is_stable_and_about_the_fraction():
    keys = [f"doc{i}" for i in range(4000)]
    chosen = [k for k in keys if D.in_heldout(k, 0.1)]
    assert 300 < len(chosen) < 500
    assert chosen == [k for k in keys if D.in_heldout(k, 0.1)]


def test_long_examples_are_truncated_and_documents_split(tok):
    tpl = TextTemplate("Q: {{ prompt }}\nA: {{ reply }}")
    stats = D.EncodeStats()
    rows = [{"prompt": "short", "reply": "word " * 200}, {"prompt": "word " * 200, "reply": "x"}]
    out = D.encode_instructions(rows, "switchboard", tok, tpl, 32, stats)
    assert len(out) == 1 and len(out[0]) == 32 and stats["truncated"] == 1 and stats.dropped == {"prompt_too_long": 1}
    assert stats["examples"] == 1
    docs = D.encode_documents(["word " * 100], tok, 16)
    assert all(len(e) <= 16 for e in docs) and len(docs) > 1
    assert sum(e.words for e in docs) == 100 and docs[-1].input_ids[-1] == tok.eos_token_id
    assert all(e.input_ids[0] == tok.bos_token_id and e.labels[0] == D.IGNORE_INDEX for e in docs)


def test_rows_without_doc_id_are_held_out_one_by_one(tmp_path):
    """A dataset built from rows in the published schema has a null doc_id: each row is then its own document."""
    import polars as pl
    import yaml

    rows = [{**r, "doc_id": None} for r in instruction_rows("switchboard", 10, 6, seed=3)]
    (tmp_path / "switchboard").mkdir()
    pl.DataFrame(rows, schema_overrides={"doc_id": pl.String}).write_parquet(
        tmp_path / "switchboard" / "train-00000-of-00001.parquet"
    )
    files = [{"split": "train", "path": "switchboard/train-*"}]
    card = {"configs": [{"config_name": "switchboard", "data_files": files}]}
    (tmp_path / "README.md").write_text("---\n" + yaml.safe_dump(card) + "---\n", encoding="utf-8")
    parts = D.load_instruction_sources(
        str(tmp_path), eval_fraction=0.3, max_eval_examples=None, sources=("switchboard",)
    )["switchboard"]
    expected = [r["prompt"] for r in rows if D.in_heldout(f"switchboard\x1f{r['prompt']}", 0.3)]
    assert [r["prompt"] for r in parts["eval"]] == expected and 0 < len(expected) < len(rows)
    assert len(parts["train"]) + len(parts["eval"]) == len(rows)
