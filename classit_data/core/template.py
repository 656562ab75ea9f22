"""The training-string template shared by the dataset's ``text`` column and ``classit-train``.

The template is a Jinja file (``prompts/text_template.jinja`` by default) with the variables ``prompt``
and ``reply``; ``reply`` must come last, so that the text splits into a prefix (what the model is given)
and a completion (what it learns to produce).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from classit_data.core.errors import InputError
from classit_data.core.resources import resource_path

DEFAULT_TEMPLATE = "text_template.jinja"
_SENTINEL = "\x00REPLY\x00"


class TextTemplate:
    def __init__(self, source: str, name: str = "<template>"):
        self.source = source
        self.name = name
        env = jinja2.Environment(keep_trailing_newline=False, undefined=jinja2.StrictUndefined, autoescape=False)
        try:
            self._tpl = env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"bad template: {exc.message}", name, exc.lineno) from exc
        probe = self._tpl.render(prompt="P", reply=_SENTINEL)
        if probe.count(_SENTINEL) != 1:
            raise InputError("template must use {{ reply }} exactly once", name)
        self._suffix = probe.split(_SENTINEL, 1)[1]

    @classmethod
    def load(cls, path: str | Path | None = None) -> TextTemplate:
        p = Path(path) if path is not None else resource_path("prompts", DEFAULT_TEMPLATE)
        try:
            return cls(p.read_text(encoding="utf-8").rstrip("\n"), str(p))
        except OSError as exc:
            raise InputError(f"cannot read template: {exc.strerror}", p) from exc

    def render(self, prompt: str, reply: str) -> str:
        return self._tpl.render(prompt=prompt, reply=reply)

    def verbatim_parts(self) -> tuple[str, str, str] | None:
        """(head, mid, tail) with ``render(p, r) == head + p + mid + r + tail``, or None when that does not hold.

        It holds when the template puts each variable in once, prompt first, untouched: checked on a probe
        and on texts that a filter (trim, upper, replace), escaping or a condition would change. Callers
        that render many rows concatenate (or vectorise) instead of calling Jinja (~20 us a call).
        """
        p_mark = "\x00PROMPT\x00"
        probe = self._tpl.render(prompt=p_mark, reply=_SENTINEL)
        if probe.count(p_mark) != 1 or probe.count(_SENTINEL) != 1 or probe.index(p_mark) > probe.index(_SENTINEL):
            return None
        head, rest = probe.split(p_mark)
        mid, tail = rest.split(_SENTINEL)
        samples = [
            ("Hi.", "Yes."),
            (" A: x\nB:  y ", " z\n"),
            ("", ""),
            ("<b>&amp;", "It's {{ x }} %}"),
            ("UH", "uh-huh"),
            ("  {{ x }} <b>&amp;\n", " 'q' \"r\"\t"),
            ("ÄÖ é", "line\nline "),
        ]
        if all(self.render(a, b) == head + a + mid + b + tail for a, b in samples):
            return head, mid, tail
        return None

    def split(self, prompt: str, reply: str) -> tuple[str, str]:
        """(prefix, completion) with prefix + completion == render(prompt, reply)."""
        full = self._tpl.render(prompt=prompt, reply=_SENTINEL)
        prefix, suffix = full.split(_SENTINEL, 1)
        return prefix, reply + suffix


@functools.lru_cache(maxsize=8)
def default_template() -> TextTemplate:
    return TextTemplate.load()


def render_text(prompt: str, reply: str) -> str:
    return default_template().render(prompt, reply)
