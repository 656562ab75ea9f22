"""MkDocs hook: the tables a page would otherwise copy from the code, generated from it at build time.

Two markers, each alone on a line of a page:

- ``<!-- settings: classit_data.wiki.config:PrepareConfig -->`` becomes the table of that settings model: every
  field with its key in a ``--config`` file, its flag (``core.settings.Settings.flag_specs``; "file only" for a
  field marked ``FILE_ONLY``), its default and its help (the field's ``description``), and why the default is
  what it is (the ``#:`` comment above the field, where there is one);
- ``<!-- options: classit-data prepare-wiki -->`` becomes the table of the command's own arguments and options
  (inputs, outputs, ``--config``, ``--json``...): the options it takes from a settings model are in that
  model's table, so they are left out here.

A marker that names nothing real fails the build: ``mkdocs build --strict`` is how a renamed model or command
shows in the docs.
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing

from mkdocs.exceptions import PluginError

_MARKER = re.compile(r"^<!-- (settings|options): (.+?) -->$", re.M)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Expand every marker of the page (MkDocs calls this for each page before rendering it)."""

    def expand(found: re.Match) -> str:
        kind, target = found.group(1), found.group(2).strip()
        try:
            return settings_table(target) if kind == "settings" else options_table(target)
        except (ImportError, AttributeError, KeyError, ValueError) as exc:
            raise PluginError(f"{page.file.src_path}: {found.group(0)}: {exc!r}") from exc

    return _MARKER.sub(expand, markdown)


def _load(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _why(model) -> dict[str, str]:
    """The ``#:`` comment lines just above each field's line, from the source of the model and its bases."""
    why: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls.__module__.startswith("pydantic") or cls is object:
            continue
        try:
            lines = inspect.getsource(cls).splitlines()
        except (OSError, TypeError):
            continue
        for i, line in enumerate(lines):
            field = re.match(r"^    (\w+)\s*:", line)
            if field is None:
                continue
            comments = []
            for above in reversed(lines[:i]):
                if not above.strip().startswith("#:"):
                    break
                comments.insert(0, above.strip().removeprefix("#:").strip())
            if comments:
                why[field.group(1)] = " ".join(comments)
    return why


def _default(field) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    return f"`{value!r}`" if not isinstance(value, str) else f"`{value}`"


def settings_table(target: str) -> str:
    """The Markdown table of the settings model ``module:Class``."""
    model = _load(target)
    specs = model.flag_specs()
    why = _why(model)
    rows = ["| setting | flag | default | what | why |", "| --- | --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        spec = specs.get(name)
        if spec is None:
            flag = "file only"
        elif spec.kind is bool and not spec.multiple:
            flag = f"`{spec.flags[0]}/--no-{spec.flags[0].removeprefix('--')}`"
        else:
            flag = ", ".join(f"`{f}`" for f in spec.flags) + (" (repeatable)" if spec.multiple else "")
        rows.append(
            f"| `{name}` | {flag} | {_cell(_default(field))} | {_cell(field.description or '')} "
            f"| {_cell(why.get(name, ''))} |"
        )
    return "\n".join(rows)


def _command(target: str):
    """(the click command, its typer callback) of ``classit-data NAME`` or ``classit-train NAME``."""
    import typer.main

    program, _, name = target.partition(" ")
    package = {"classit-data": "classit_data", "classit-train": "classit_train"}[program]
    app = importlib.import_module(f"{package}.cli").app
    callback = next(info.callback for info in app.registered_commands if info.name == name)
    return typer.main.get_command(app).commands[name], callback


def options_table(target: str) -> str:
    """The Markdown table of the arguments and options of a command that are not settings of its stage."""
    from classit_data.core.commands import setting_of

    command, callback = _command(target)
    hints = typing.get_type_hints(callback, include_extras=True)
    from_settings = {
        name
        for name, hint in hints.items()
        if any(setting_of(meta) is not None for meta in getattr(hint, "__metadata__", ()))
    }
    rows = ["| argument or option | what |", "| --- | --- |"]
    for param in command.params:
        if param.name in from_settings:
            continue
        if param.param_type_name == "argument":
            shown = f"`{param.name.upper()}`" + (" ..." if param.nargs == -1 else "")
        else:
            shown = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            shown += " (repeatable)" if getattr(param, "multiple", False) else ""
        help_text = getattr(param, "help", None) or ""
        required = " (required)" if param.required and "[required]" not in help_text else ""
        rows.append(f"| {shown} | {_cell(help_text)}{required} |")
    return f"`{target} --help` lists them all.\n\n" + "\n".join(rows)
