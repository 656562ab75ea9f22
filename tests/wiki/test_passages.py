"""Wikitext cleaning, sentence splitting, passage packing and the prepare_wiki run."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classit_data.core.errors import InputError
from classit_data.wiki.passages import (
    PassageConfig, clean_plain, clean_wikitext, pack_sentences, prepare_wiki, process_batch, split_sentences,
)
from classit_data.core.schema import PASSAGE_SCHEMA, Passage
from classit_data.wiki.readers.base import WIKITEXT, Article

WIKI = Path(__file__).parents[1] / "fixtures" / "wiki"
ROOT = Path(__file__).resolve().parents[2]
SENTINEL = re.compile(r"[A-Z]+WORD")


def _prose(wikitext: str) -> str:
    clean = clean_wikitext(wikitext)
    return "\n".join(p for _, paras in clean.sections for p in paras)


def _run(tmp_path, inputs, name="p.parquet", **kw) -> tuple[dict, pl.DataFrame]:
    out = tmp_path / name
    summary = prepare_wiki(inputs, out, progress=False, workers=kw.pop("workers", 1), **kw)
    df = pl.read_parquet(out) if out.suffix == ".parquet" else pl.read_ndjson(out)
    return summary, df


# --- cleaning --------------------------------------------------------------------------------------


def test_nested_templates_and_refs_with_templates_are_dropped():
    text = ("{{Infobox|a={{b|{{c|INFOBOXWORD}}}}}}Paris is a city.<ref>{{cite web|title={{nowrap|REFWORD}}}}</ref>"
            " It is in France.<ref name=x/> It is old.<ref name=\"y\">REFWORD</ref>")
    assert _prose(text) == "Paris is a city. It is in France. It is old."


def test_file_links_with_nested_caption_links_are_dropped():
    text = ("[[File:Cat.jpg|thumb|left|A CAPTIONWORD with [[dog|a LINKWORD]] and [[cat]]s]]Cats are small animals "
            "that many people keep. [[Image:X.png|200px]]They sleep a lot.")
    assert _prose(text) == "Cats are small animals that many people keep. They sleep a lot."


def test_links_become_their_text_and_hidden_links_vanish():
    text = ("The [[river|rivers]] of [[France]] flow to the [[Atlantic Ocean]]s and the [[:fr:Seine|Seine]] is one, "
            "see [[wikt:estuary|estuaries]] and [[#History|history]]. [[Category:Rivers]][[de:Fluss]]")
    assert _prose(text) == ("The rivers of France flow to the Atlantic Oceans and the Seine is one, "
                            "see estuaries and history.")


def test_tables_galleries_comments_magic_words_and_entities():
    text = ('Rome is the capital of Italy.<!-- COMMENTWORD --> __NOTOC__ It has about&nbsp;3 million people.\n'
            '{| class="wikitable"\n! TABLEWORD !! x\n|-\n| TABLEWORD || 1\n|}\n'
            "<gallery>\nA.jpg|GALLERYWORD\n</gallery>\nIt is on the river [http://example.org Tiber] and "
            "http://example.org/bare has seven hills.")
    prose = _prose(text)
    assert not SENTINEL.search(prose)
    assert "Rome is the capital of Italy. It has about 3 million people." in prose
    assert "It is on the river Tiber and has seven hills." in prose


def test_headings_split_sections_and_boilerplate_sections_are_left_out():
    text = ("Lead text is here and it is long enough.\n== History ==\nThe history part is here.\n"
            "=== Early ''years'' ===\nEarly years are here for sure.\n== Other websites ==\nOTHERWORD is a site.\n"
            "== References ==\n{{reflist}}")
    clean = clean_wikitext(text)
    assert [h for h, _ in clean.sections] == ["", "History", "Early years"]
    assert clean.boilerplate_sections == 2
    assert "OTHERWORD" not in json.dumps(clean.sections)


def test_lists_and_caption_fragments_are_counted_not_kept():
    text = ("Bees make honey and live in big groups.\n* LISTWORD one item\n# LISTWORD two\n: LISTWORD indent\n"
            "A caption\n\nBees can sting people.")
    clean = clean_wikitext(text)
    assert clean.sections[0][1] == ["Bees make honey and live in big groups.", "Bees can sting people."]
    assert clean.list_words == 7
    assert clean.fragment_words == 2


def test_inline_templates_that_stand_for_words_are_kept():
    text = ("Ada (born {{birth date|1815|12|10}}) ran {{convert|5|km|mi}} to {{lang|fr|Paris}} with "
            "{{nowrap|her friend}}.{{citation needed|date=May 2020}} The town had {{formatnum:12345}} people "
            "and is {{convert|5|to|10|km|abbr=on}} wide{{snd}}it is small.")
    assert _prose(text) == ("Ada (born 10 December 1815) ran 5 km to Paris with her friend. The town had 12345 "
                            "people and is 5 to 10 km wide – it is small.")


def test_empty_parentheses_left_by_templates_are_removed():
    assert _prose("Paris ({{IPA|paʁi}}; {{lang-fr|}}) is a city in France.") == "Paris is a city in France."


def test_plain_text_headings_and_lists():
    clean = clean_plain("Owls hunt at night. They have big eyes.\n\nFood\n\nOwls eat mice and insects.\n"
                        "Mice\nInsects\n== Life ==\nOwls live for ten years or more.")
    assert [(h, ps) for h, ps in clean.sections] == [
        ("", ["Owls hunt at night. They have big eyes."]),
        ("Food", ["Owls eat mice and insects."]),
        ("Life", ["Owls live for ten years or more."]),
    ]
    assert clean.list_words == 2


# --- sentences and passages ------------------------------------------------------------------------


def test_punkt_keeps_abbreviations_inside_sentences():
    text = "Dr. Smith moved to the U.S. in Jan. 1950. He met Mr. Jones in St. Louis. It rained! Did it stop?"
    assert split_sentences(text) == [
        "Dr. Smith moved to the U.S. in Jan. 1950.", "He met Mr. Jones in St. Louis.", "It rained!", "Did it stop?"]


def test_punkt_parameters_are_plain_json():
    data = json.loads((ROOT / "classit_data" / "data" / "punkt_english.json").read_text(encoding="utf-8"))
    assert {"abbrev_types", "collocations", "sent_starters", "ortho_context"} <= set(data)
    assert "e.g" in data["abbrev_types"] and "days" not in data["abbrev_types"]


def _sentences(sizes):
    """Sentence i is "s<i>" followed by filler words: ``sizes[i]`` words in all."""
    return [" ".join([f"s{i}"] + ["w"] * (n - 1)) + "." for i, n in enumerate(sizes)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=60), max_size=40),
       st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=100))
def test_packing_respects_bounds_and_order(sizes, min_words, extra):
    max_words = min_words + extra
    counts = Counter()
    passages = pack_sentences(_sentences(sizes), max_words, min_words, counts)
    seen = []
    for p in passages:
        assert min_words <= len(p.split()) <= max_words
        idx = [int(i) for i in re.findall(r"\bs(\d+)\b", p)]
        assert idx == list(range(idx[0], idx[0] + len(idx)))  # consecutive sentences
        assert all(sizes[i] <= max_words for i in idx)
        seen += idx
    assert seen == sorted(set(seen))  # in order, none repeated
    assert counts["long_sentences_dropped"] == sum(1 for n in sizes if n > max_words)
    if all(n <= max_words for n in sizes) and sum(sizes) >= 2 * max_words:
        # a long run loses at most its short tail
        assert len(seen) >= len(sizes) - max(1, min_words)


def test_packing_balances_instead_of_leaving_a_short_tail():
    sentences = _sentences([30] * 7)  # 210 words, max 160: greedy would give 150 + 60
    passages = pack_sentences(sentences, 160, 40, Counter())
    assert [len(p.split()) for p in passages] == [120, 90]


def test_overlong_sentence_is_counted_and_splits_the_run():
    counts = Counter()
    passages = pack_sentences(_sentences([50, 500, 50]), 160, 40, counts)
    assert [len(p.split()) for p in passages] == [50, 50]
    assert counts["long_sentences_dropped"] == 1


def test_sentences_with_markup_residue_are_left_out():
    """An unclosed template or link is plain text to the parser; its sentence must not reach a passage."""
    body = "Owls are birds that hunt at night and sleep in the day. They have big eyes and soft feathers. "
    text = body + "{{Infobox owl RESIDUEWORD. The tail is [[broken RESIDUEWORD link. " + body.upper()
    counts = Counter()
    config = PassageConfig(min_words=10, min_article_words=20)
    rows = process_batch([Article("7", "Owl", text, WIKITEXT)], config, None)[0]
    assert [r["text"] for r in rows] == [body.strip(), body.upper().strip()]
    clean = clean_wikitext(text)
    sentences = [x for _, ps in clean.sections for p in ps for x in split_sentences(p)]
    pack_sentences(sentences, 160, 20, counts)
    assert counts["markup_sentences_dropped"] >= 1


def test_a_wikitext_failure_is_counted_and_named():
    good = Article("1", "Good", "Owls are birds. " * 30, WIKITEXT)
    broken = Article("2", "Broken", None, WIKITEXT)  # not text at all: the cleaner raises
    rows, counts, failures = process_batch([good, broken], PassageConfig())
    assert counts["articles_kept"] == 1 and counts["skip:parse_error"] == 1
    assert failures[0]["title"] == "Broken" and failures[0]["article_id"] == "2"
    assert rows and all(r["article_id"] == "1" for r in rows)


# --- the run ---------------------------------------------------------------------------------------


def test_hard_cases_become_clean_prose(tmp_path):
    summary, df = _run(tmp_path, WIKI / "hard_cases.xml")
    assert df.columns == list(PASSAGE_SCHEMA)
    assert dict(zip(df.columns, df.dtypes)) == PASSAGE_SCHEMA
    text = "\n".join(df["text"])
    assert not SENTINEL.search(text), SENTINEL.findall(text)
    assert not re.search(r"[\[\]{}|<>]|''|&\w+;", text)
    assert "Zürich is the largest city in Switzerland." in text
    assert "Tokyo Tower (東京タワー) is a tall tower in Tokyo, Japan. It was finished in 1958 and is 333 m high." in text
    assert set(df["title"]) == {"Zürich", "東京タワー", "Musical scale"}
    assert ("Zürich", "Climate") in set(zip(df["title"], df["section"]))
    assert summary["skipped_by_reason"] == {"disambiguation": 1, "empty": 1, "list": 1, "namespace": 3,
                                           "redirect": 2, "stub": 1}
    assert summary["pages_read"] == 12 and summary["articles_read"] == 5 and summary["articles_kept"] == 3
    assert summary["pages_read"] == summary["articles_kept"] + sum(summary["skipped_by_reason"].values())
    assert summary["passages"] == df.height and summary["words"] == df["n_words"].sum()


def test_passage_rows_are_valid_and_ids_stable(tmp_path):
    _, df = _run(tmp_path, ROOT / "samples" / "simplewiki_sample.xml.bz2")
    assert df.height >= 40
    for row in df.iter_rows(named=True):
        Passage(**row)
        assert row["passage_id"] == Passage.make_id(row["article_id"], row["section"], row["text"])
        assert row["n_words"] == len(row["text"].split())
        assert 40 <= row["n_words"] <= 160
    assert df["passage_id"].n_unique() == df.height
    # passages never cross an article: each text occurs in the article it is filed under
    assert df.group_by("passage_id").agg(pl.col("article_id").n_unique())["article_id"].max() == 1


def test_same_article_gives_same_passages_in_every_format(tmp_path):
    """Dump, HF export and wikiextractor output of the same article give the same passage ids."""
    ids = {}
    for name in ("hard_cases.xml", "wikipedia_simple.parquet", "wikiextractor_wiki_00", "wikiextractor.json"):
        _, df = _run(tmp_path, WIKI / name, name=f"{name}.parquet")
        ids[name] = set(df.filter(pl.col("title") == "Zürich").filter(pl.col("section") == "")["passage_id"])
    assert len({frozenset(v) for v in ids.values()}) == 1 and next(iter(ids.values()))


def test_every_format_yields_passages(tmp_path):
    for name in ("simple_wiki_2024.train", "simple_wiki_2023.train", "wikipedia_simple.jsonl",
                 "wikipedia_simple.parquet", "wikiextractor_wiki_00", "wikiextractor.json"):
        summary, df = _run(tmp_path, WIKI / name, name=f"{name}.jsonl")
        assert df.height >= 2, name
        assert not SENTINEL.search("\n".join(df["text"])), name
        assert summary["pages_read"] == summary["articles_kept"] + sum(summary["skipped_by_reason"].values())


@pytest.fixture
def big_dump(tmp_path) -> Path:
    """The bundled sample six times over, with distinct page ids: several batches of 64 articles."""
    import sys

    sys.path.insert(0, str(ROOT / "samples"))
    from make_wiki_sample import read_pages

    from classit_data.wiki.readers.dump import write_export_xml

    pages = read_pages(ROOT / "samples" / "simplewiki_sample.pages.txt")
    dump = tmp_path / "big.xml"
    with dump.open("w", encoding="utf-8") as fh:
        write_export_xml(({**p, "id": p["id"] + 1000 * k} for k in range(6) for p in pages), fh)
    return dump


def test_workers_give_the_same_output_as_one_process(tmp_path, big_dump):
    """Several batches go through the worker pool and come back in input order."""
    dump = big_dump
    _, one = _run(tmp_path, [WIKI / "hard_cases.xml", dump], name="one.parquet", workers=1)
    summary, two = _run(tmp_path, [WIKI / "hard_cases.xml", dump], name="two.parquet", workers=2)
    assert summary["articles_read"] == 5 + 6 * 27
    assert summary["config"]["workers"] == 2
    assert one.height > 300 and one.equals(two)


def test_limit_and_word_bounds(tmp_path):
    summary, df = _run(tmp_path, ROOT / "samples" / "simplewiki_sample.xml.bz2", limit_articles=5,
                       max_words=80, min_words=30)
    assert summary["articles_read"] == 5
    assert df["n_words"].max() <= 80 and df["n_words"].min() >= 30
    with pytest.raises(InputError, match="min_words"):
        prepare_wiki(WIKI / "hard_cases.xml", tmp_path / "x.parquet", min_words=50, max_words=20, progress=False)
    with pytest.raises(InputError, match=".parquet or .jsonl"):
        prepare_wiki(WIKI / "hard_cases.xml", tmp_path / "x.csv", progress=False)


def test_failed_run_keeps_the_earlier_output_and_leaves_no_temporary_file(tmp_path, big_dump):
    out_dir = tmp_path / "out"
    out = out_dir / "p.parquet"
    prepare_wiki(WIKI / "hard_cases.xml", out, progress=False, workers=1)
    before = out.read_bytes()
    # the error comes after several batches were handed to the worker pool
    with pytest.raises(InputError, match="mismatched tag"):
        prepare_wiki([big_dump, WIKI / "malformed.xml"], out, progress=False, workers=2)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["p.parquet"]


_PIECES = [
    "Owls are birds that hunt at night. ", "They have very big eyes and soft wings. ", "\n", "\n\n",
    "{{Infobox|a=", "{{cite web|title=", "}}", "[[File:A.jpg|thumb|cap [[x]]", "[[", "]]", "[[link|text]] ",
    "<ref>", "</ref>", "<ref name=a/>", "{|", "|}", "|-", "| cell ", "== Head ==", "* item ", "'''", "''",
    "<!--", "-->", "&nbsp;", "[http://e.org label] ", "<gallery>", "</gallery>", "<div>", "</div>", "__TOC__",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=80))
def test_any_mix_of_markup_gives_clean_passages_or_none(pieces):
    text = "".join(pieces)
    rows, counts, failures = process_batch([Article("9", "Mix", text, WIKITEXT)],
                                           PassageConfig(min_words=5, min_article_words=5))
    assert not failures
    for row in rows:
        assert not re.search(r"\{\{|\}\}|\[\[|\]\]|\||<|>|''|&nbsp;|__TOC__", row["text"]), row["text"]
        assert 5 <= row["n_words"] <= 160
