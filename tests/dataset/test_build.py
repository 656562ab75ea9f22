"""`classit-data build`: the validation gate, the Hub layout, the card and the build record."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest
import yaml

from classit_data.core.errors import InputError
from classit_data.core.io import write_rows
from classit_data.core.schema import COLUMN_ORDER
from classit_data.dataset.build import BuildSummary, build, doc_fraction, parse_size, validation_docs
from classit_data.dataset.config import BuildConfig
from classit_data.dataset.record import read_build_info
from tests.helpers import switchboard_rows, validated_inputs, write_inputs


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _card_yaml(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return validated_inputs(tmp_path_factory.mktemp("rows"))


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory) -> tuple[Path, BuildSummary]:
    out = tmp_path_factory.mktemp("build") / "CLASS_IT"
    record = build(
        inputs["switchboard"],
        inputs["wiki"],
        out,
        BuildConfig(val_fraction=0.2, seed=7),
        passages=inputs["passages"],
        command="classit-data build (test)",
        progress=False,
    )
    return out, record


def test_layout_and_load_dataset(built, inputs, tmp_path):
    from datasets import load_dataset

    out, record = built
    sw_in = pl.read_parquet(inputs["switchboard"])
    wiki_in = pl.read_parquet(inputs["wiki"])
    assert record.validation["passed"] and record.validation["quarantined"] == 0
    loaded = {}
    for config in ("switchboard", "simple_wiki", "merged"):
        ds = load_dataset(str(out), config, cache_dir=str(tmp_path / "cache"))
        assert set(ds) == {"train", "validation"}
        for split in ds:
            assert ds[split].column_names == list(COLUMN_ORDER)
            assert ds[split].column_names[:4] == ["prompt", "reply", "source", "text"]
            files = sorted((out / config).glob(f"{split}-*.parquet"))
            assert [f.name for f in files] == [f"{split}-00000-of-00001.parquet"]
        loaded[config] = {s: ds[s].to_polars() for s in ds}
    # every input row is in exactly one split of its config, unchanged
    for config, frame in (("switchboard", sw_in), ("simple_wiki", wiki_in)):
        got = pl.concat(loaded[config].values())
        assert sorted(got["id"]) == sorted(frame["id"])
        assert got.sort("id").select(frame.columns).equals(frame.sort("id"))
        # split by document: no conversation or article on both sides
        train_docs = set(loaded[config]["train"]["doc_id"])
        val_docs = set(loaded[config]["validation"]["doc_id"])
        assert train_docs and val_docs and not train_docs & val_docs
    # merged = both sources, same splits, shuffled
    for split in ("train", "validation"):
        merged = loaded["merged"][split]
        parts = pl.concat([loaded["switchboard"][split], loaded["simple_wiki"][split]])
        assert sorted(merged["id"]) == sorted(parts["id"])
        assert merged["id"].to_list() != parts["id"].to_list()
    assert set(loaded["merged"]["train"]["source"]) == {"switchboard", "simple_wiki"}


def test_card_metadata_matches_the_files(built):
    out, record = built
    meta = _card_yaml(out)
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert set(configs) == {"switchboard", "simple_wiki", "merged"}
    assert {d["split"]: d["path"] for d in configs["switchboard"]["data_files"]} == {
        "train": "switchboard/train-*",
        "validation": "switchboard/validation-*",
    }
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    for name, info in infos.items():
        assert [f["name"] for f in info["features"]] == list(COLUMN_ORDER)
        for split in info["splits"]:
            n = pl.scan_parquet(str(out / name / f"{split['name']}-*.parquet")).select(pl.len()).collect().item()
            assert split["num_examples"] == n == record.configs[name]["splits"][split["name"]]["num_examples"]
            assert split["num_bytes"] > 0
        assert info["download_size"] == sum(p.stat().st_size for p in (out / name).glob("*.parquet"))
    assert "cc-by-nc-sa-3.0" in meta["license"] and "cc-by-sa-4.0" in meta["license"]
    assert "apache-2.0" in meta["license"]  # the generating model in the rows is SmolLM2


def test_card_text(built):
    out, record = built
    text = (out / "README.md").read_text(encoding="utf-8")
    for needle in (
        "## Intended use",
        "## Sources and licenses",
        "CC BY-NC-SA",
        "CC BY-SA",
        "Apache-2.0",
        "## How it was made",
        "classit-data build (test)",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "5f0c2a9d1e3b4c7a",
        '"temperature": 0.7',
        "## Statistics",
        "## BabyLM word budget",
        "100,000,000",
        "## Limitations",
        "capone-etal-2025-class",
        "Lenci",
        "](figures/figure1.png)",
    ):
        assert needle in text, needle
    assert f"{record.counts['words_text']:,} words" in text.replace("\n", " ").replace("**", "")
    for f in record.inputs["switchboard"]:
        assert f["sha256"] in text
    png = out / "figures" / "figure1.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_build_record(built, inputs):
    out, record = built
    info = read_build_info(out)
    assert info["seed"] == 7 and info["val_fraction"] == 0.2
    assert info["inputs"]["switchboard"][0]["sha256"] == _sha(inputs["switchboard"])
    assert info["inputs"]["wiki"][0]["sha256"] == _sha(inputs["wiki"])
    listed = set(info["files"])
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {"build_info.json"}
    # the report and its wall times sit beside the card, outside the record: a rebuild reproduces the record
    assert listed == on_disk - {"report.html", "timings.json"} and (out / "report.html").is_file()
    for rel, meta in info["files"].items():
        assert meta["sha256"] == _sha(out / rel) and meta["size"] == (out / rel).stat().st_size
    prov = info["provenance"]
    assert prov["models"] == [
        {
            "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "model_revision": "main",
            "rows": info["counts"]["by_source"]["simple_wiki"]["rows"],
        }
    ]
    assert prov["prompt_hashes"][0]["prompt_hash"] == "5f0c2a9d1e3b4c7a"
    assert info["package"]["name"] == "classit-data" and info["package"]["version"]
    words = (
        pl.concat([pl.read_parquet(inputs[k]) for k in ("switchboard", "wiki")])["text"].str.count_matches(r"\S+").sum()
    )
    assert info["counts"]["words_text"] == words == info["babylm"]["dataset_words"]
    assert info["babylm"]["share"] == pytest.approx(words / 100_000_000)
    assert not list(out.parent.glob(".CLASS_IT.*")), "staging folders left behind"
    table = record.rows()
    assert table["validation gate"].startswith("passed: ") and table["card"] == f"{out}/README.md"
    assert (
        table["merged/validation"] == f"{record.configs['merged']['splits']['validation']['num_examples']:,} "
        "rows, 1 shard(s)"
    )
    # the summary is the record, with where the build went and how long it took
    assert record.to_json() == {**info, "out": str(out), "seconds": record.seconds, "gate_seconds": record.gate_seconds}


def test_same_inputs_same_bytes(built, inputs, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    build(
        inputs["switchboard"],
        inputs["wiki"],
        again,
        BuildConfig(val_fraction=0.2, seed=7),
        passages=inputs["passages"],
        command="classit-data build (test)",
        progress=False,
    )
    first = json.loads((out / "build_info.json").read_text())["files"]
    second = json.loads((again / "build_info.json").read_text())["files"]
    for rel in first:
        if rel != "README.md":  # the card names the input paths, which are the same here
            assert first[rel]["sha256"] == second[rel]["sha256"], rel
    assert (out / "README.md").read_text() == (again / "README.md").read_text()
    # the record has no timings or temporary paths: a rebuild gives the same bytes, so a push makes no commit
    assert (out / "build_info.json").read_bytes() == (again / "build_info.json").read_bytes()
    # another seed shuffles merged differently, and moves no document between splits
    other = tmp_path / "other"
    build(
        inputs["switchboard"],
        inputs["wiki"],
        other,
        BuildConfig(val_fraction=0.2, seed=8),
        passages=inputs["passages"],
        progress=False,
    )
    a = pl.read_parquet(out / "merged" / "train-00000-of-00001.parquet")
    b = pl.read_parquet(other / "merged" / "train-00000-of-00001.parquet")
    assert a["id"].to_list() != b["id"].to_list() and sorted(a["id"]) == sorted(b["id"])


def test_shards_by_size_and_one_kept_file_for_both_sources(inputs, tmp_path):
    from classit_data.validate.validate import validate

    both = tmp_path / "kept.parquet"
    validate(
        [str(inputs["switchboard"]), str(inputs["wiki"])],
        both,
        tmp_path / "rej.parquet",
        tmp_path / "rep.json",
        passages=inputs["passages"],
    )
    out = tmp_path / "sharded"
    record = build(both, both, out, BuildConfig(max_shard_size="20KB"), passages=inputs["passages"], progress=False)
    files = sorted(p.name for p in (out / "merged").glob("*.parquet"))
    n = len(files)
    assert n >= 3 and files == [f"train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    assert "validation" not in record.configs["merged"]["splits"]
    total = pl.scan_parquet(str(out / "merged" / "*.parquet")).select(pl.len()).collect().item()
    assert total == pl.read_parquet(both).height
    from datasets import load_dataset

    ds = load_dataset(str(out), "merged", cache_dir=str(tmp_path / "cache"))
    assert list(ds) == ["train"] and ds["train"].num_rows == total


def test_gate_refuses_rows_that_fail_validation(tmp_path, cli):
    raw = write_inputs(tmp_path / "raw")
    sw = pl.read_parquet(raw["switchboard"])
    bad = pl.concat([sw, sw.head(3)])  # exact duplicates: the validators must drop them
    bad_path = write_rows(bad, tmp_path / "dupes.parquet")
    out = tmp_path / "refused"
    r = cli("build", "--switchboard", bad_path, "--wiki", raw["wiki"], "--passages", raw["passages"], "--out", out)
    assert r.returncode == 2, r.stderr
    assert "validation failed" in r.stderr and "--force" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    r = cli(
        "build",
        "--switchboard",
        bad_path,
        "--wiki",
        raw["wiki"],
        "--passages",
        raw["passages"],
        "--out",
        out,
        "--force",
    )
    assert r.returncode == 0, r.stderr
    info = read_build_info(out)
    assert info["validation"]["passed"] is False and info["validation"]["forced"] is True
    assert info["validation"]["quarantined"] >= 3
    kept = pl.scan_parquet(str(out / "switchboard" / "*.parquet")).collect()
    assert kept["id"].n_unique() == kept.height
    assert "**failed**" in (out / "README.md").read_text()


def test_bad_inputs_give_one_line(tmp_path, cli, inputs):
    wiki_as_sw = cli("build", "--switchboard", inputs["wiki"], "--out", tmp_path / "x")
    assert wiki_as_sw.returncode == 2
    assert str(inputs["wiki"]) in wiki_as_sw.stderr and "'simple_wiki'" in wiki_as_sw.stderr
    missing = cli("build", "--switchboard", tmp_path / "nope.parquet", "--out", tmp_path / "x")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    nothing = cli("build", "--out", tmp_path / "x")
    assert nothing.returncode == 2 and "nothing to build" in nothing.stderr
    size = cli("build", "--switchboard", inputs["switchboard"], "--out", tmp_path / "x", "--max-shard-size", "lots")
    assert size.returncode == 2 and "--max-shard-size" in size.stderr
    stranger = tmp_path / "not_a_build"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    r = cli("build", "--switchboard", inputs["switchboard"], "--out", stranger)
    assert r.returncode == 2 and "not made by `classit-data build`" in r.stderr
    assert (stranger / "notes.txt").read_text() == "mine"
    for r in (wiki_as_sw, missing, nothing, size):
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr


def test_failed_rebuild_keeps_the_earlier_build(tmp_path, inputs):
    out = tmp_path / "ds"
    build(inputs["switchboard"], None, out, progress=False)
    before = {p: _sha(p) for p in out.rglob("*") if p.is_file()}
    sw = pl.read_parquet(inputs["switchboard"])
    dupes = write_rows(pl.concat([sw, sw.head(2)]), tmp_path / "dupes.parquet")
    with pytest.raises(InputError, match="validation failed"):  # fails inside the staging folder
        build(dupes, None, out, progress=False)
    assert {p: _sha(p) for p in out.rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob(".ds.*")), "staging folder left behind"
    assert set(read_build_info(out)["configs"]) == {"switchboard", "merged"}


class Killed(BaseException):
    """The process dies here: no handler runs, as under ``kill -9``."""


def test_a_build_killed_between_its_two_renames_is_finished_by_the_next_run(tmp_path, inputs, monkeypatch):
    """The folder swap as a kill leaves it: the journal written, the earlier build set aside, the new one not
    yet in place (no ``out`` at all); the next run over ``out`` puts the new build in place, then builds."""
    from classit_data.core import outputs

    out = tmp_path / "ds"
    build(inputs["switchboard"], None, out, progress=False)
    replace = os.replace

    def killed_after_setting_aside(src, dst):
        replace(src, dst)
        if Path(dst).name.startswith(".ds.old-"):
            raise Killed

    monkeypatch.setattr(outputs.os, "replace", killed_after_setting_aside)
    with pytest.raises(Killed):
        build(inputs["switchboard"], None, out, BuildConfig(seed=3), progress=False)
    monkeypatch.undo()
    assert not out.exists() and (tmp_path / ".ds.commit.json").exists()
    (tmp_path / ".ds.0123abcd.partial").mkdir()  # another killed run's half-written folder
    (tmp_path / ".ds.0123abcd.partial" / "half.parquet").write_text("half written")

    assert outputs.recover([out]) is True
    assert read_build_info(out)["seed"] == 3  # the new build, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    assert outputs.recover([out]) is False
    build(inputs["switchboard"], None, out, BuildConfig(seed=4), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"] and read_build_info(out)["seed"] == 4


def test_a_build_is_readable_as_the_umask_says(tmp_path, inputs):
    old = os.umask(0o022)
    try:
        build(inputs["switchboard"], None, tmp_path / "ds", progress=False)
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in [tmp_path / "ds", *(tmp_path / "ds").rglob("*")]}
    assert modes <= {0o755, 0o644} and 0o755 in modes and 0o644 in modes, sorted(map(oct, modes))


def test_validation_docs_rule():
    df = switchboard_rows(n_conversations=40, turns=3)
    val = validation_docs(df, "switchboard", 0.25)
    docs = set(df["doc_id"])
    assert val == {d for d in docs if doc_fraction("switchboard", d) < 0.25}
    assert 0 < len(val) < len(docs)
    # never empty nor everything when there are two documents or more
    two = df.filter(pl.col("doc_id").is_in(sorted(docs)[:2]))
    assert len(validation_docs(two, "switchboard", 1e-9)) == 1
    assert len(validation_docs(two, "switchboard", 0.999999)) == 1
    assert validation_docs(df, "switchboard", 0.0) == set()


def test_parse_size():
    assert parse_size("500MB") == 500 * 10**6
    assert parse_size("2MiB") == 2 * 2**20
    assert parse_size(1234) == 1234
    with pytest.raises(InputError):
        parse_size("big")


def test_cli_build_with_stats_dir_then_load_offline(inputs, tmp_path, cli):
    import os
    import subprocess
    import sys

    from classit_data.dataset.stats import stats

    stats([str(inputs["switchboard"]), str(inputs["wiki"])], tmp_path / "stats")
    out = tmp_path / "CLASS_IT"
    r = cli(
        "build",
        "--switchboard",
        inputs["switchboard"],
        "--wiki",
        inputs["wiki"],
        "--out",
        out,
        "--stats-dir",
        tmp_path / "stats",
        "--passages",
        inputs["passages"],
        "--json",
    )
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record == {**read_build_info(out), **{k: record[k] for k in ("out", "seconds", "gate_seconds")}}
    # named relative to the built folder: the record holds no absolute path of this machine
    assert record["stats"]["source"] == os.path.relpath(tmp_path / "stats", out)
    assert record["stats"]["figure"] == "figures/figure1.png"
    assert (out / "figures" / "figure1.png").read_bytes() == (tmp_path / "stats" / "figure1.png").read_bytes()
    assert record["command"].startswith("classit-data build --switchboard")
    assert "| switchboard |" in (out / "README.md").read_text()  # the stats table of stats.md
    code = (
        "import sys; from datasets import load_dataset\n"
        "for c in ('switchboard', 'simple_wiki', 'merged'):\n"
        "    d = load_dataset(sys.argv[1], c, split='train'); print(c, d.num_rows, d.column_names[:4])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    loaded = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, env=env, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    for config, cfg in record["configs"].items():
        n = cfg["splits"]["train"]["num_examples"]
        assert f"{config} {n} ['prompt', 'reply', 'source', 'text']" in loaded.stdout
    (tmp_path / "no_stats").mkdir()
    bad = cli(
        "build", "--switchboard", inputs["switchboard"], "--out", tmp_path / "y", "--stats-dir", tmp_path / "no_stats"
    )
    assert bad.returncode == 2 and "stats.json" in bad.stderr


def test_generation_record_and_prompt_files_in_the_card(inputs, tmp_path):
    from classit_data.core.resources import resource_path
    from classit_data.generate.prompts import PromptSet

    qa_yaml = resource_path("prompts", "qa.yaml")
    prompts = PromptSet.load(qa_yaml)
    gen = tmp_path / "generate"
    gen.mkdir()
    run = {
        "command": "generate-wiki",
        "argv": ["classit-data", "generate-wiki", "passages.parquet", "--out", "gen"],
        "config": {"temperature": 0.7, "seed": 0},
        "backend": "vllm",
        "identity": {
            "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "prompt_hash": prompts.prompt_hash(),
            "sampling": {"num_pairs": prompts.num_pairs},
            "seed": 0,
        },
        "prompts": {"source": str(qa_yaml), "files": [n for n, _ in prompts.files]},
    }
    (gen / "run.json").write_text(json.dumps(run))
    out = tmp_path / "ds"
    record = build(
        inputs["switchboard"], inputs["wiki"], out, generation_runs=[gen], passages=inputs["passages"], progress=False
    )
    files = record.provenance["prompt_files"]
    assert [f["file"] for f in files] == [n for n, _ in prompts.files]
    for f in files:
        assert f["sha256"] == _sha(qa_yaml.parent / f["file"])
    card = (out / "README.md").read_text()
    assert "classit-data generate-wiki passages.parquet --out gen" in card
    assert f"`qa.yaml` (sha256 `{_sha(qa_yaml)}`)" in card
    # prompt files that no longer give the run's prompt hash are listed without a hash
    run["identity"]["prompt_hash"] = "0000000000000000"
    (gen / "run.json").write_text(json.dumps(run))
    record = build(
        inputs["switchboard"],
        inputs["wiki"],
        tmp_path / "ds2",
        generation_runs=[gen / "run.json"],
        passages=inputs["passages"],
        progress=False,
    )
    assert all(f["sha256"] is None for f in record.provenance["prompt_files"])
    with pytest.raises(InputError, match="no such file or folder"):
        build(inputs["switchboard"], None, tmp_path / "ds3", generation_runs=[tmp_path / "missing"], progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no run.json"):
        build(inputs["switchboard"], None, tmp_path / "ds3", generation_runs=[tmp_path / "empty"], progress=False)
    assert not (tmp_path / "ds3").exists()


def test_judge_scores_reach_the_record_and_the_card(inputs, tmp_path):
    wiki = pl.read_parquet(inputs["wiki"])
    judged = wiki.with_columns(
        *[pl.lit(5, dtype=pl.Int64).alias(f"judge_{s}") for s in ("grounded", "correct", "self_contained")],
        pl.Series("judge_quality", [4 + i % 2 for i in range(wiki.height)], pl.Int64),
    )
    path = write_rows(judged, tmp_path / "judged.parquet")
    out = tmp_path / "CLASS_IT"
    build(
        inputs["switchboard"],
        path,
        out,
        BuildConfig(val_fraction=0.2, seed=7),
        passages=inputs["passages"],
        command="classit-data build (test)",
        progress=False,
    )
    scores = read_build_info(out)["validation"]["judge_scores"]
    unjudged = pl.read_parquet(inputs["switchboard"]).height  # the Switchboard rows have no judge scores
    assert scores["judge_quality"] == {"none": unjudged, "4": (wiki.height + 1) // 2, "5": wiki.height // 2}
    assert scores["judge_grounded"] == {"none": unjudged, "5": wiki.height}
    card = (out / "README.md").read_text()
    assert f"| judge_quality | none: {unjudged:,}, 4: {(wiki.height + 1) // 2:,}, 5: {wiki.height // 2:,} |" in card
    assert "judge_quality" not in pl.read_parquet(next((out / "simple_wiki").glob("*.parquet"))).columns
