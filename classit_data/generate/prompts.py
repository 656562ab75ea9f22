"""The QA prompt files (``prompts/qa.yaml`` and the files it names), loaded once and hashed.

The prompts are data, not code, so that they can be read, changed and versioned on their own; the hash of
their exact bytes (plus the number of pairs asked for) goes into every generated row, so two rows with the
same ``prompt_hash`` were asked for with the very same words.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from classit_data.core.errors import InputError
from classit_data.core.io import parse_yaml_mapping
from classit_data.core.resources import resource_path

DEFAULT_PROMPTS = "qa.yaml"
_FILE_KEYS = ("system", "user", "fewshot", "schema")


@dataclass(frozen=True)
class PromptSet:
    """System text, user template, worked examples, JSON schema and default pair count."""

    system: str
    user_template: str
    fewshot: list[dict]
    schema: dict
    num_pairs: int
    source: str
    #: (file name, bytes) of every file that shaped the prompt, for the hash
    files: tuple[tuple[str, bytes], ...] = field(repr=False, default=())

    @classmethod
    def load(cls, path: str | Path | None = None, default: str = DEFAULT_PROMPTS) -> PromptSet:
        """Load ``qa.yaml`` (or ``default``, or the given YAML file, or a folder holding one) and its files."""
        p = Path(path) if path is not None else resource_path("prompts", default)
        if p.is_dir():
            p = p / default
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read prompt config: {exc.strerror}", p) from exc
        spec = parse_yaml_mapping(raw, p, "system/user/fewshot/schema/num_pairs")
        missing = [k for k in (*_FILE_KEYS, "num_pairs") if k not in spec]
        if missing:
            raise InputError(f"missing key(s) {', '.join(missing)}", p)
        files: list[tuple[str, bytes]] = [(p.name, raw)]
        texts: dict[str, str] = {}
        for key in _FILE_KEYS:
            f = p.parent / str(spec[key])
            try:
                data = f.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read {key} prompt file: {exc.strerror}", f) from exc
            files.append((f.name, data))
            texts[key] = data.decode("utf-8")
        fewshot = _json(texts["fewshot"], p.parent / str(spec["fewshot"]))
        schema = _json(texts["schema"], p.parent / str(spec["schema"]))
        if not isinstance(fewshot, list) or not all(
            isinstance(e, dict) and "text" in e and "pairs" in e for e in fewshot
        ):
            raise InputError(
                "few-shot file must be a list of {title, section, text, pairs}", p.parent / str(spec["fewshot"])
            )
        try:
            jinja2.Environment().parse(texts["user"])
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"bad template: {exc.message}", p.parent / str(spec["user"]), exc.lineno) from exc
        num_pairs = spec["num_pairs"]
        if not isinstance(num_pairs, int) or num_pairs < 1:
            raise InputError("num_pairs must be a positive integer", p)
        return cls(
            system=texts["system"].strip(),
            user_template=texts["user"],
            fewshot=fewshot,
            schema=schema,
            num_pairs=num_pairs,
            source=str(p),
            files=tuple(files),
        )

    def prompt_hash(self, num_pairs: int | None = None, extra: str = "") -> str:
        """Hash of the prompt files' bytes and the effective number of pairs (16 hex digits); ``extra`` is any
        other setting that changes the words sent."""
        h = hashlib.sha256()
        for name, data in self.files:
            h.update(name.encode())
            h.update(b"\x1f")
            h.update(data)
            h.update(b"\x1e")
        h.update(f"num_pairs={num_pairs or self.num_pairs}".encode())
        if extra:
            h.update(extra.encode())
        return h.hexdigest()[:16]

    def schema_for(self, num_pairs: int) -> dict:
        """The answer schema with the list length bounded by the number of pairs asked for."""
        schema = json.loads(json.dumps(self.schema))
        if schema.get("type") == "array":
            schema["maxItems"] = num_pairs
        return schema


def _json(text: str, path: Path):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"bad JSON: {exc.msg}", path, exc.lineno) from exc
