"""Readers of Simple English Wikipedia: every format, detection, the dump's hard cases, bad input."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import re
import tracemalloc
from pathlib import Path

import polars as pl
import pytest

from classit_data.core.errors import InputError
from classit_data.core.formats import normalize_format
from classit_data.wiki.readers.base import PLAIN, WIKITEXT, BytesRead
from classit_data.wiki.readers.detect import FORMAT_ALIASES, FORMATS, detect_format, iter_articles
from classit_data.wiki.readers.dump import read_dump
from tests.helpers import FIXTURES
from tests.wiki.export_xml import write_export_xml

WIKI = FIXTURES / "wiki"
HARD = WIKI / "hard_cases.xml"


def _by_title(articles):
    return {a.title: a for a in articles}


@pytest.fixture
def hard_bz2(tmp_path) -> Path:
    path = tmp_path / "simplewiki-20250101-pages-articles.xml.bz2"
    path.write_bytes(bz2.compress(HARD.read_bytes()))
    return path


@pytest.fixture
def hard_multistream(tmp_path) -> Path:
    """The multistream layout: the header in its own bz2 stream, then pages in separate streams."""
    xml = HARD.read_text(encoding="utf-8")
    head, _, rest = xml.partition("  <page>")
    body, _, tail = ("  <page>" + rest).rpartition("</mediawiki>")
    pages = re.findall(r"  <page>.*?</page>\n", body, re.S)
    streams = [head] + ["".join(pages[i : i + 3]) for i in range(0, len(pages), 3)] + ["</mediawiki>" + tail]
    path = tmp_path / "simplewiki-20250101-pages-articles-multistream.xml.bz2"
    path.write_bytes(b"".join(bz2.compress(s.encode("utf-8")) for s in streams))
    assert len(streams) > 3
    return path


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("hard_cases.xml", "mediawiki"),
        ("simple_wiki_2024.train", "babylm"),
        ("simple_wiki_2023.train", "babylm"),
        ("wikipedia_simple.jsonl", "hf"),
        ("wikipedia_simple.parquet", "hf"),
        ("wikiextractor_wiki_00", "wikiextractor"),
        ("wikiextractor.json", "wikiextractor"),
    ],
)
def test_format_is_detected_from_content(name, fmt, tmp_path):
    assert detect_format(WIKI / name) == fmt
    # the name does not matter: the same bytes under a misleading name are detected the same way
    renamed = tmp_path / "input.xml"
    renamed.write_bytes((WIKI / name).read_bytes())
    assert detect_format(renamed) == fmt


def test_compressed_inputs_are_detected(hard_bz2, hard_multistream, tmp_path):
    gz = tmp_path / "babylm.train.gz"
    gz.write_bytes(gzip.compress((WIKI / "simple_wiki_2024.train").read_bytes()))
    assert detect_format(hard_bz2) == "mediawiki"
    assert detect_format(hard_multistream) == "mediawiki"
    assert detect_format(gz) == "babylm"


def test_dump_pages_and_skip_reasons():
    arts = list(read_dump(HARD))
    assert len(arts) == 12
    by = _by_title(arts)
    assert by["Zürich"].skip is None and by["Zürich"].article_id == "10"
    assert by["Zürich"].markup == WIKITEXT
    assert "{{Infobox Swiss town" in by["Zürich"].text  # the reader keeps wikitext; cleaning is later
    assert by["東京タワー"].skip is None
    assert by["Zurich"].skip == "redirect"  # <redirect title=...> element
    assert by["Old town (Zurich)"].skip == "redirect"  # lower-case #redirect in the text
    assert by["Talk:Zürich"].skip == "namespace"
    assert by["Template:Infobox Swiss town"].skip == "namespace"
    assert by["Wikipedia:Simple talk"].skip == "namespace"
    assert by["Empty article"].skip == "empty"
    assert by["Mercury (disambiguation)"].skip == "disambiguation"
    assert all(a.text == "" for a in arts if a.skip)


def test_bz2_and_multistream_read_the_same_pages(hard_bz2, hard_multistream):
    plain = list(read_dump(HARD))
    assert list(read_dump(hard_bz2)) == plain
    assert list(read_dump(hard_multistream)) == plain


def test_dump_without_ns_elements_uses_siteinfo_namespaces(tmp_path):
    xml = HARD.read_text(encoding="utf-8")
    path = tmp_path / "old.xml"
    path.write_text(re.sub(r"\s*<ns>-?\d+</ns>", "", xml), encoding="utf-8")
    by = _by_title(read_dump(path))
    assert by["Talk:Zürich"].skip == "namespace"
    assert by["Zürich"].skip is None


def test_dump_reading_memory_does_not_grow_with_the_dump(tmp_path):
    """iterparse clears each page: peak memory for 2,000 pages is close to that for 200."""
    body = "A sentence of text that fills the page. " * 60

    def peak(n: int) -> int:
        path = tmp_path / f"d{n}.xml.bz2"
        with bz2.open(path, "wt", encoding="utf-8") as fh:
            write_export_xml(({"id": i + 1, "title": f"Page {i}", "text": body} for i in range(n)), fh)
        tracemalloc.start()
        count = sum(1 for _ in read_dump(path))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == n
        return top

    small, large = peak(200), peak(2000)
    assert large < small * 1.5 + 200_000, (small, large)


def test_babylm_2024_headers_cut_fragment_and_sections():
    arts = list(iter_articles(WIKI / "simple_wiki_2024.train"))
    assert [a.skip for a in arts] == ["cut_fragment", None, None, None]  # stubs are found by cleaning
    by = _by_title(a for a in arts if a.title)
    assert set(by) == {"Zürich", "Zinc", "Musical scale"}
    assert by["Zürich"].markup == PLAIN
    assert "\n== Climate ==\n" in by["Zürich"].text  # a section heading stays a heading line
    assert by["Musical scale"].text.endswith("A chromatic scale uses all")  # cut at the chunk border, kept
    assert all("FRAGMENTWORD" not in a.text for a in arts)


def test_babylm_2023_bare_titles():
    arts = list(iter_articles(WIKI / "simple_wiki_2023.train"))
    assert arts[0].skip == "cut_fragment"
    assert [a.title for a in arts[1:]] == ["Zürich", "Zinc", "Musical scale"]
    assert arts[1].text.startswith("Zürich is the largest city")
    # both header styles give the same article ids (hash of the title)
    ids_2024 = {a.title: a.article_id for a in iter_articles(WIKI / "simple_wiki_2024.train") if a.title}
    assert {a.title: a.article_id for a in arts[1:]} == ids_2024


def test_babylm_bare_title_followed_by_blank_line(tmp_path):
    path = tmp_path / "wiki.train"
    path.write_text(
        "Owl\n\nOwls are birds that hunt at night. They have big eyes.\n\nZinc\nZinc is a metal.\n", encoding="utf-8"
    )
    arts = list(iter_articles(path, "babylm"))
    assert [(a.title, a.text) for a in arts] == [
        ("Owl", "Owls are birds that hunt at night. They have big eyes."),
        ("Zinc", "Zinc is a metal."),
    ]


def test_hf_parquet_and_json_lines_agree():
    from_jsonl = list(iter_articles(WIKI / "wikipedia_simple.jsonl"))
    from_parquet = list(iter_articles(WIKI / "wikipedia_simple.parquet"))
    assert from_jsonl == from_parquet
    by = _by_title(from_jsonl)
    assert by["Zürich"].article_id == "10" and by["Zürich"].markup == PLAIN
    assert by["Empty article"].skip == "empty"
    assert by["Mercury"].skip == "disambiguation"  # "can mean:" opening
    assert by["Ærø"].skip is None


def test_wikiextractor_docs_and_json():
    docs = _by_title(iter_articles(WIKI / "wikiextractor_wiki_00"))
    assert docs["Zürich"].text.startswith("Zürich is the largest city in Switzerland.")  # title line and <a> gone
    assert "<a" not in docs["Zürich"].text
    assert docs["Tom & Jerry"].article_id == "22"  # attributes and text are HTML-unescaped
    assert docs["Mercury (disambiguation)"].skip == "disambiguation"
    js = _by_title(iter_articles(WIKI / "wikiextractor.json"))
    assert js["Zürich"].text.startswith("Zürich is the largest city")  # the repeated title line is dropped
    assert js["Zürich"].article_id == "10"


def test_forced_format_overrides_detection():
    arts = list(iter_articles(WIKI / "wikiextractor.json", "hf"))
    assert len(arts) == 3


def test_format_aliases_name_a_reader():
    assert set(FORMAT_ALIASES.values()) == set(FORMATS)
    assert normalize_format(" Simple_Wiki ", FORMATS, FORMAT_ALIASES) == "babylm"
    assert normalize_format(None, FORMATS, FORMAT_ALIASES) is None
    with pytest.raises(InputError, match="unknown format 'docx'; choose one of mediawiki, babylm, hf"):
        normalize_format("docx", FORMATS, FORMAT_ALIASES)


@pytest.mark.parametrize(
    "name",
    [
        "hard_cases.xml",
        "simple_wiki_2024.train",
        "wikipedia_simple.jsonl",
        "wikiextractor_wiki_00",
        "wikiextractor.json",
    ],
)
def test_bytes_read_counts_the_file_on_disk(name):
    """The progress bar's measure: every byte of a text input, counted while its articles are read."""
    bytes_read = BytesRead()
    assert list(iter_articles(WIKI / name, bytes_read=bytes_read))
    assert bytes_read.total == (WIKI / name).stat().st_size


def test_bytes_read_counts_compressed_bytes_and_adds_up_over_files(hard_bz2):
    bytes_read = BytesRead()
    list(iter_articles(hard_bz2, bytes_read=bytes_read))
    list(iter_articles(WIKI / "hard_cases.xml", bytes_read=bytes_read))
    assert bytes_read.total == hard_bz2.stat().st_size + HARD.stat().st_size


# --- bad input -------------------------------------------------------------------------------------


def test_malformed_xml_names_line_and_column():
    with pytest.raises(InputError) as err:
        list(read_dump(WIKI / "malformed.xml"))
    assert err.value.path.endswith("malformed.xml")
    assert err.value.where == "line 21, column 6"
    assert "mismatched tag" in err.value.message


def test_truncated_bz2_names_the_compressed_offset(tmp_path):
    # a dump large enough to span several bz2 blocks, cut in the middle
    text = "Words of a page that goes on. " * 400
    buf = io.StringIO()
    write_export_xml(({"id": i + 1, "title": f"P{i}", "text": text + str(i)} for i in range(300)), buf)
    data = bz2.compress(buf.getvalue().encode("utf-8"))
    cut = tmp_path / "cut.xml.bz2"
    cut.write_bytes(data[: len(data) // 2])
    read = []
    with pytest.raises(InputError) as err:
        for art in read_dump(cut):
            read.append(art)
    assert read, "pages before the cut are read"
    assert "ends early" in err.value.message
    offset = int(re.search(r"compressed byte ([\d,]+)", err.value.where).group(1).replace(",", ""))
    assert 0 < offset <= len(data) // 2


def test_truncated_plain_xml(tmp_path):
    cut = tmp_path / "cut.xml"
    cut.write_bytes(HARD.read_bytes()[:3000])
    with pytest.raises(InputError, match="ends early") as err:
        list(read_dump(cut))
    assert err.value.where.startswith("line ")


def test_damaged_bz2(tmp_path):
    data = bytearray(bz2.compress(HARD.read_bytes()))
    data[40:60] = b"\x00" * 20
    bad = tmp_path / "bad.xml.bz2"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="bz2 stream"):
        list(iter_articles(bad))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        (b"A:\tHello there.\nB:\tHi, how are you?\nA:\tFine.\n", "conversation file"),
        (b"565:10:April\n565:12:Art\n", "multistream index"),
        (b"A|Okay, uh, tell me about it.|b\nB|Well, I think so.|sv\n", "conversation file"),
        (b"This paragraph is long and ends with a period, like a cut text would.\n", "no article title"),
        (b'{"name": "x"}\n', "without 'title' and 'text'"),
        (b'{"title": "x", "text": \n', "not JSON"),
        (b"<html><body>hello</body></html>\n", "neither a MediaWiki"),
    ],
)
def test_wrong_formats_are_refused(tmp_path, content, message):
    path = tmp_path / "input"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        list(iter_articles(path))


def test_bad_json_line_is_named(tmp_path):
    good = (WIKI / "wikipedia_simple.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "w.jsonl"
    path.write_text("\n".join(good[:2] + ["{broken"] + good[2:]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        list(iter_articles(path))
    assert err.value.where == 3


def test_parquet_without_text_column(tmp_path):
    path = tmp_path / "w.parquet"
    pl.DataFrame({"id": ["1"], "title": ["A"], "body": ["x"]}).write_parquet(path)
    with pytest.raises(InputError, match="without column"):
        list(iter_articles(path))


def test_unclosed_wikiextractor_doc(tmp_path):
    path = tmp_path / "wiki_00"
    path.write_text('<doc id="1" url="u" title="A">\nA\n\nSome text.\n', encoding="utf-8")
    with pytest.raises(InputError, match="ends inside a <doc>") as err:
        list(iter_articles(path))
    assert err.value.where == 1


def test_bad_utf8_in_text_input(tmp_path):
    path = tmp_path / "wiki.train"
    path.write_bytes(b"= = = A = = =\nGood line.\n" + b"bad \xff byte\n")
    with pytest.raises(InputError, match="not UTF-8") as err:
        list(iter_articles(path))
    assert err.value.where == 3


def test_missing_input():
    with pytest.raises(InputError, match="no such file"):
        detect_format(WIKI / "nope.xml")


def test_hf_record_json_roundtrip_fields():
    line = (WIKI / "wikipedia_simple.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert set(json.loads(line)) == {"id", "url", "title", "text"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_dumps_in_utf16_or_utf32_are_decoded_by_their_byte_order_mark(tmp_path, encoding):
    """Whatever the XML declaration says (a converted file often keeps encoding="UTF-8")."""
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + HARD.read_text(encoding="utf-8")
    data = xml.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the plain codec writes no mark
    path = tmp_path / "dump.xml"
    path.write_bytes(data)
    assert detect_format(path) == "mediawiki"
    assert list(iter_articles(path)) == list(iter_articles(HARD))
    packed = tmp_path / "dump.xml.bz2"
    packed.write_bytes(bz2.compress(data))
    assert list(iter_articles(packed)) == list(iter_articles(HARD))


@pytest.mark.parametrize("name", ["simple_wiki_2024.train", "wikiextractor_wiki_00", "wikipedia_simple.jsonl"])
def test_text_inputs_in_utf16_are_decoded_by_their_byte_order_mark(tmp_path, name):
    path = tmp_path / name
    path.write_bytes((WIKI / name).read_text(encoding="utf-8").encode("utf-16"))
    assert detect_format(path) == detect_format(WIKI / name)
    assert list(iter_articles(path)) == list(iter_articles(WIKI / name))


def test_broken_utf16_is_named(tmp_path):
    path = tmp_path / "wiki.train"
    path.write_bytes("= = = A = = =\nGood line.\n".encode("utf-16-le").join([b"\xff\xfe", b"\x00\xd8A\x00\n\x00"]))
    with pytest.raises(InputError, match="not UTF-16 text") as err:
        list(iter_articles(path))
    assert err.value.where == 3


def test_a_dump_cut_at_its_start_is_refused(tmp_path):
    """A piece of a dump starting mid-tag is not taken for a BabyLM file (which would give no passage)."""
    xml = HARD.read_text(encoding="utf-8")
    path = tmp_path / "piece.xml"
    path.write_text(xml[xml.index("<page>") + 2 :], encoding="utf-8")  # "age>\n    <title>..."
    with pytest.raises(InputError, match=r"a piece of a MediaWiki XML dump cut at its start \(it begins 'age> <title>"):
        detect_format(path)


def test_a_text_that_mentions_markup_is_not_taken_for_a_dump_piece(tmp_path):
    path = tmp_path / "simple_wiki.train"
    path.write_text(
        "= = = HTML = = =\nA web page names itself in a <title> element and its text in <p> and <text> elements.\n",
        encoding="utf-8",
    )
    assert detect_format(path) == "babylm"


@pytest.mark.parametrize("fmt", [None, "mediawiki", "babylm"])
def test_a_git_lfs_pointer_is_named(tmp_path, fmt):
    path = tmp_path / "simplewiki.xml.bz2"
    path.write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 350000000\n", encoding="ascii"
    )
    with pytest.raises(
        InputError,
        match=r"a Git LFS pointer, not the file itself \(the real file has 350000000 "
        r"bytes\): fetch it with `git lfs pull`",
    ):
        list(iter_articles(path, fmt))
