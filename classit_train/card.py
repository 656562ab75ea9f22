"""The model card (``README.md``) of a run folder, rendered from ``cards/model_card.md.jinja``."""

from __future__ import annotations

import jinja2
import yaml

from classit_data.core.resources import resource_path

MODEL_CARD_TEMPLATE = "model_card.md.jinja"


def render_model_card(config: dict, summary: dict) -> str:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    template = env.from_string(resource_path("cards", MODEL_CARD_TEMPLATE).read_text(encoding="utf-8"))
    return template.render(
        config=config, summary=summary, config_yaml=yaml.safe_dump(config, sort_keys=False, allow_unicode=True).rstrip()
    )
