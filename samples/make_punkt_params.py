"""Rebuild classit_data/wiki/data/punkt_english.json, the sentence splitter's parameters (no download, no pickle).

NLTK's pretrained Punkt models cannot be downloaded here and pickled models are refused by current NLTK,
so the orthographic and sentence-starter statistics are learned with ``PunktTrainer`` from the clean
prose of the bundled sample dump (our own text), and the abbreviations are those listed in
``classit_data/wiki/data/punkt_abbreviations.txt`` (written for this project: titles, months, units, Latin
shorthands, initialisms such as "U.S.", and those met cutting sentences on real pages: "spp.", "v.", "Par.",
"sec.", "fl.").
The result is plain JSON, so it can be read and reviewed.

    .venv/bin/python samples/make_punkt_params.py [DUMP ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from classit_data.wiki.clean import clean_wikitext
from classit_data.wiki.readers.detect import iter_articles
from classit_data.wiki.sentences import PUNKT_PARAMS, punkt_parameters_to_json, train_punkt_parameters

HERE = Path(__file__).resolve().parent


def prose(paths: list[Path]):
    for path in paths:
        for article in iter_articles(path):
            if not article.skip:
                clean = clean_wikitext(article.text)
                yield "\n\n".join(p for _, paras in clean.sections for p in paras)


if __name__ == "__main__":
    dumps = [Path(p) for p in sys.argv[1:]] or [HERE / "simplewiki_sample.xml.bz2"]
    abbreviations = (PUNKT_PARAMS.parent / "punkt_abbreviations.txt").read_text(encoding="utf-8").split()
    # the sample is too small to learn abbreviations from (it would take "days." for one): the list decides
    params = train_punkt_parameters(prose(dumps), abbreviations, learn_abbreviations=False)
    PUNKT_PARAMS.write_text(
        json.dumps(punkt_parameters_to_json(params), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {PUNKT_PARAMS}: {len(params.abbrev_types)} abbreviations, {len(params.ortho_context)} words")
