"""The GPU benchmark's inputs where they are not given: passages from the bundled sample dump, a small build in
the layout ``classit-data build`` writes, and BLiMP from the corpora or the test fixtures.

Each input is made on its own: one that cannot be made here (a package missing) is recorded with the reason, and
only the parts that need it are skipped.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import CORPORA, ROOT

FIXTURE_BLIMP = ROOT / "tests" / "fixtures" / "eval" / "blimp"


def make_inputs(work: Path, given: dict, tiny: bool = False) -> dict:
    """``given`` with every input that is None made (or found) here; ``KEY_error`` says why one is still None.
    ``tiny``: BLiMP from the test fixtures even where the corpora have it (the dry run)."""
    found = dict(given)
    makers = {
        "passages": lambda: sample_passages(work / "passages.parquet"),
        "dataset": lambda: small_dataset(work / "dataset", Path(found["passages"])),
        "blimp": lambda: CORPORA / "blimp" if (CORPORA / "blimp").is_dir() and not tiny else FIXTURE_BLIMP,
    }
    for key, make in makers.items():
        if found.get(key):
            continue
        try:
            found[key] = str(make())
        except (ImportError, TypeError) as exc:  # TypeError: the passages it needs were not made
            found[f"{key}_error"] = f"{type(exc).__name__}: {exc}"
    return found


def sample_passages(out: Path) -> Path:
    from classit_data.wiki import prepare_wiki

    prepare_wiki([ROOT / "samples" / "simplewiki_sample.xml.bz2"], out, progress=False)
    return out


def small_dataset(folder: Path, passages: Path) -> Path:
    """A dataset folder in the layout ``classit-data build`` writes, from the bundled samples: the Switchboard
    sample's pairs (``convert-switchboard``) and one question per wiki passage answered by its first sentence."""
    import polars as pl
    import yaml

    from classit_data.core.template import render_text
    from classit_data.switchboard import convert_switchboard

    convert_switchboard([ROOT / "samples" / "switchboard_sample.train"], folder / "sw.parquet", progress=False)
    sw = pl.read_parquet(folder / "sw.parquet").select("prompt", "reply", "doc_id")
    wiki = pl.read_parquet(passages).select(
        prompt=pl.format("What does the article about {} say?", "title"),
        reply=pl.col("text").str.split(". ").list.first() + ".",
        doc_id="article_id",
    )
    configs = []
    for name, rows in (("switchboard", sw), ("simple_wiki", wiki)):
        rows = rows.with_columns(
            text=pl.struct("prompt", "reply").map_elements(
                lambda r: render_text(r["prompt"], r["reply"]), return_dtype=pl.String
            )
        )
        (folder / name).mkdir(parents=True, exist_ok=True)
        rows.write_parquet(folder / name / "train-00000-of-00001.parquet")
        configs.append({"config_name": name, "data_files": [{"split": "train", "path": f"{name}/train-*"}]})
    (folder / "sw.parquet").unlink()
    card = (
        "---\n" + yaml.safe_dump({"configs": configs}, sort_keys=False) + "---\n\n# small build for the GPU benchmark\n"
    )
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder
