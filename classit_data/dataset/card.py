"""The dataset card (``README.md``): YAML metadata for the Hub and ``datasets``, and the text a reviewer reads.

The metadata is made with the libraries that read it (``huggingface_hub.DatasetCardData``,
``datasets``' ``MetadataConfigs`` and ``DatasetInfosDict``), so ``load_dataset`` and the Hub see exactly
the configs, features and sizes of the build. The text comes from ``cards/dataset_card.md.jinja``, filled
from the build record only (no clock, no machine names), so the same build gives the same card.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jinja2

from classit_data.core.errors import InputError
from classit_data.core.resources import resource_path
from classit_data.core.schema import COLUMN_ORDER

TEMPLATE = "dataset_card.md.jinja"

#: licence of the text a generating model writes, by a part of its name (lower case); first match wins
MODEL_LICENSES = (
    ("llama-3.2", "llama3.2", "Llama 3.2 Community License"),
    ("llama-3.1", "llama3.1", "Llama 3.1 Community License"),
    ("llama-3", "llama3", "Meta Llama 3 Community License"),
    ("smollm", "apache-2.0", "Apache-2.0"),
    ("qwen2.5", "apache-2.0", "Apache-2.0 (check the model card: some Qwen2.5 sizes differ)"),
    ("mistral", "apache-2.0", "Apache-2.0"),
)
SOURCE_LICENSES = {
    "switchboard": (
        "cc-by-nc-sa-3.0",
        "CC BY-NC-SA 3.0 (the Switchboard Dialog Act Corpus, SWDA, as prepared for the BabyLM corpus)",
    ),
    "simple_wiki": ("cc-by-sa-4.0", "CC BY-SA 4.0 (Simple English Wikipedia text; also GFDL)"),
}
COLUMNS = (
    ("prompt", "string", "the instruction: a Switchboard turn, or a question about a Wikipedia passage"),
    ("reply", "string", "the answer: the next speaker's turn, or the generated answer"),
    ("source", "string", "`switchboard` or `simple_wiki`"),
    ("text", "string", "the training string, `prompt` and `reply` in the text template; the reply comes last"),
    ("id", "string", "stable content hash of (source, doc_id, position, prompt, reply)"),
    ("doc_id", "string", "conversation id (Switchboard) or article id (Wikipedia); splits never share one"),
    ("position", "int64", "index of the reply turn in its conversation, or of the pair within its passage"),
    ("origin", "string", "the input the row came from"),
    ("passage_id", "string", "the passage a QA pair was generated from (null for Switchboard)"),
    ("model", "string", "the generating model (null for Switchboard)"),
    ("model_revision", "string", "its revision"),
    ("prompt_hash", "string", "hash of the prompt files used for generation"),
    ("sampling", "string", "sampling parameters, JSON"),
    ("seed", "int64", "generation seed"),
)
CITATION = """@inproceedings{capone-etal-2025-class,
    title = "{CLASS}-{IT}: Conversational and Lecture-Aligned Small-Scale Instruction Tuning for {B}aby{LM}s",
    author = "Capone, Luca and Bondielli, Alessandro and Lenci, Alessandro",
    booktitle = "Proceedings of the First BabyLM Workshop",
    month = nov,
    year = "2025",
    address = "Suzhou, China",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/2025.babylm-main.30/",
    pages = "436--444"
}"""


def model_license(model: str | None) -> tuple[str, str]:
    """(Hub licence id, readable name) of the text a model generates."""
    name = (model or "").lower()
    for key, hub_id, readable in MODEL_LICENSES:
        if key in name:
            return hub_id, readable
    return "other", "see the model's own card"


def size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < limit:
            return label
    return "10M<n<100M"


def card_metadata(record: dict):
    """``DatasetCardData`` with licences, tags, ``configs:`` and ``dataset_info:`` for the built folder."""
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        language=["en"],
        license=card_licenses(record),
        pretty_name="CLASS-IT",
        size_categories=[size_category(record["counts"]["rows"])],
        task_categories=["text-generation", "question-answering"],
        source_datasets=["original"],
        tags=["babylm", "instruction-tuning", "switchboard", "simple-wikipedia", "synthetic"],
    )
    configs = MetadataConfigs(
        {
            name: {"data_files": [{"split": split, "path": f"{name}/{split}-*"} for split in cfg["splits"]]}
            for name, cfg in record["configs"].items()
        }
    )
    configs.to_dataset_card_data(data)
    _dataset_infos(record).to_dataset_card_data(data)
    return data


def card_licenses(record: dict) -> list[str]:
    """Hub licence ids: of each source with rows, then of each generating model's output, each once."""
    licenses = [
        SOURCE_LICENSES[s][0] for s in ("switchboard", "simple_wiki") if record["counts"]["by_source"][s]["rows"]
    ]
    for m in record["provenance"]["models"]:
        hub_id = model_license(m["model"])[0]
        if hub_id not in licenses:
            licenses.append(hub_id)
    return licenses


def _dataset_infos(record: dict):
    """``datasets``' description of each config: features, and rows and bytes per split."""
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo, Value
    from datasets.info import DatasetInfosDict

    types = {name: dtype for name, dtype, _ in COLUMNS}
    features = Features({c: Value(types[c]) for c in COLUMN_ORDER})
    infos = {}
    for name, cfg in record["configs"].items():
        splits = SplitDict()
        for split, s in cfg["splits"].items():
            splits.add(SplitInfo(name=split, num_bytes=s["num_bytes"], num_examples=s["num_examples"]))
        infos[name] = DatasetInfo(
            features=features,
            splits=splits,
            download_size=sum(s["download_size"] for s in cfg["splits"].values()),
            dataset_size=sum(s["num_bytes"] for s in cfg["splits"].values()),
        )
    return DatasetInfosDict(infos)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["num"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    env.filters["pct"] = lambda v: f"{100 * v:.2f}%"
    env.filters["code"] = lambda v: f"`{v}`"
    env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, indent=2)
    return env


def card_context(record: dict) -> dict:
    """Everything the template shows, taken from the build record."""
    prov = record["provenance"]
    models = [{**m, "license": model_license(m["model"])[1]} for m in prov["models"]]
    runs = []
    for run in prov.get("generation_runs", []):
        if Path(run["file"]).name != "run.json":
            continue  # summary.json: its sha256 is in build_info.json; the card shows the configuration
        content = run.get("content") if isinstance(run.get("content"), dict) else {}
        argv = content.get("argv")
        # argv is the command only when generate-wiki was run from the command line (not from Python)
        command = (
            "classit-data " + shlex.join(map(str, argv[1:]))
            if isinstance(argv, list) and argv[1:2] == ["generate-wiki"]
            else None
        )
        shown = {k: content[k] for k in ("backend", "identity", "config", "versions", "prompts") if k in content}
        runs.append(
            {
                "file": Path(run["file"]).name,
                "sha256": run.get("sha256"),
                "command": command,
                "content": shown or content,
            }
        )
    prompt_files = prov.get("prompt_files", [])
    return {
        "record": record,
        "configs": record["configs"],
        "columns": COLUMNS,
        "source_licenses": SOURCE_LICENSES,
        "models": models,
        "generated_by": ", ".join(f"`{m['model']}`" for m in models) or "a language model",
        "prompt_files": prompt_files,
        "generation_runs": runs,
        "citation": CITATION,
        "figure": record.get("stats", {}).get("figure"),
    }


def adapt_stats_markdown(markdown: str | None, figure: str | None) -> str:
    """``stats.md`` as a part of the card: headings one level below "Statistics", the figure link pointing
    at the copy in the dataset folder (or dropped when there is none)."""
    if not markdown:
        return ""
    lines = []
    for line in markdown.strip().splitlines():
        if line.startswith("# "):
            continue  # the card's own "## Statistics" heading replaces the file's title
        if line.startswith("#"):
            line = "#" + line
        if re.search(r"!\[[^\]]*\]\(figure1\.(png|svg)\)", line):
            if not figure:
                continue
            line = re.sub(r"\(figure1\.(png|svg)\)", f"({figure})", line)
        lines.append(line)
    return "\n".join(lines)


def render_dataset_card(record: dict, stats_markdown: str | None = None, template: str | Path | None = None) -> str:
    """The card's full text (YAML header and body) for a build record."""
    from huggingface_hub import DatasetCard

    path = Path(template) if template is not None else resource_path("cards", TEMPLATE)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the card template: {exc.strerror}", path) from exc
    try:
        tpl = _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"bad card template: {exc.message}", path, exc.lineno) from exc
    metadata = card_metadata(record)
    context = card_context(record)
    stats_md = adapt_stats_markdown(stats_markdown, context["figure"])
    context["figure_in_stats"] = bool(context["figure"]) and f"]({context['figure']})" in stats_md
    text = tpl.render(card_data=metadata.to_yaml(), stats_markdown=stats_md, **context)
    card = DatasetCard(text)  # parses the YAML header: a card the Hub cannot read fails here, not there
    if not card.data.get("configs"):
        raise InputError("the card template lost the `configs:` metadata ({{ card_data }} must open it)", path)
    return text
