"""The shared core: item schema, ids, the text template, atomic row files, one-line errors."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from classit_data.core.errors import InputError
from classit_data.core.io import atomic_path, read_rows, write_rows
from classit_data.core.schema import (
    ITEM_SCHEMA,
    PASSAGE_COLUMNS,
    PUBLISHED_COLUMNS,
    Item,
    arrow_table,
    polars_schema,
)
from classit_data.core.template import TextTemplate, render_text
from tests.helpers import items_frame


def _item(**kw):
    base = dict(
        source="switchboard", prompt="How are you?", reply="Fine, thanks.", doc_id="sw2001", position=3, origin="test"
    )
    base.update(kw)
    base["text"] = render_text(base["prompt"], base["reply"])
    base["id"] = Item.make_id(base["source"], base["doc_id"], base["position"], base["prompt"], base["reply"])
    return Item(**base)


def test_item_has_the_published_columns_and_a_stable_id():
    a, b = _item(), _item()
    assert a.id == b.id and len(a.id) == 16
    assert _item(reply="Not fine.").id != a.id
    assert set(PUBLISHED_COLUMNS) <= set(Item.model_fields)
    assert list(ITEM_SCHEMA) == list(Item.model_fields)


def test_item_rejects_unknown_source_and_extra_fields():
    with pytest.raises(ValidationError):
        _item(source="reddit")
    with pytest.raises(ValidationError):
        Item(**{**_item().model_dump(), "colour": "red"})


def test_template_splits_into_prefix_and_completion():
    tpl = TextTemplate.load()
    prefix, completion = tpl.split("Q?", "A.")
    assert prefix + completion == tpl.render("Q?", "A.")
    assert completion.startswith("A.") and "Q?" in prefix and "A." not in prefix


def test_template_must_use_reply_once():
    with pytest.raises(InputError, match="reply"):
        TextTemplate("{{ prompt }}", "t.jinja")


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_rows_round_trip(tmp_path, suffix):
    df = items_frame([_item().model_dump(), _item(position=4).model_dump()])
    out = write_rows(df, tmp_path / f"rows{suffix}")
    back = read_rows(out, required=PUBLISHED_COLUMNS)
    assert back.select(PUBLISHED_COLUMNS).equals(df.select(PUBLISHED_COLUMNS))
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_atomic_path_keeps_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "rows.jsonl"
    target.write_text("good\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")
    assert target.read_text() == "good\n"
    assert list(tmp_path.iterdir()) == [target]


def test_read_rows_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_rows(tmp_path / "missing.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="bad.parquet"):
        read_rows(bad)
    pl.DataFrame({"prompt": ["x"]}).write_parquet(tmp_path / "few.parquet")
    with pytest.raises(InputError, match="missing column"):
        read_rows(tmp_path / "few.parquet", required=PUBLISHED_COLUMNS)


def test_yaml_config_errors_are_one_line_with_file_and_line(tmp_path):
    from classit_data.core.io import read_yaml_mapping

    good = tmp_path / "good.yaml"
    good.write_text("a: 1\nb: [2, 3]\n")
    assert read_yaml_mapping(good, "config", "settings") == {"a": 1, "b": [2, 3]}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_yaml_mapping(empty, "config", "settings") == {}
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [2, 3\n")
    with pytest.raises(InputError, match="bad YAML") as info:
        read_yaml_mapping(bad, "config", "settings")
    assert info.value.path == str(bad) and isinstance(info.value.where, int)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match="expected a mapping of settings"):
        read_yaml_mapping(listed, "config", "settings")
    with pytest.raises(InputError, match="cannot read config"):
        read_yaml_mapping(tmp_path / "missing.yaml", "config", "settings")


def test_arrow_table_holds_the_rows_as_polars_would():
    rows = [
        {
            "passage_id": "p1",
            "article_id": "7",
            "title": "Zürich",
            "section": "",
            "text": "naïve café — 東京 😀",
            "n_words": 4,
        },
        {"passage_id": "p2", "article_id": "8", "title": "", "section": "History", "text": "x", "n_words": 1},
    ]
    table = arrow_table(rows, PASSAGE_COLUMNS)
    assert table.to_pylist() == rows
    expected = pl.DataFrame(rows, schema=polars_schema(PASSAGE_COLUMNS))
    assert pl.from_arrow(table).equals(expected)
    assert table.schema.equals(expected.to_arrow().schema)
    assert arrow_table([], PASSAGE_COLUMNS).num_rows == 0
