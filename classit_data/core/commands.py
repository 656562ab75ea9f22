"""The two CLIs' machinery: typer apps, and a command's options for the settings of its stage.

A command is a plain typer function whose signature lists every option it has. Its own inputs and outputs are
typer options as usual. Each setting of its stage is a parameter too, declared as

    max_words: Annotated[int | None, setting(PrepareConfig, "max_words")] = None,

``setting`` takes the flags and the help from the settings model (``core.settings``: the only home of the
default and the help; the help shows the default). The parameter's own default is ``None``, "not given", so a
settings file (``--config``) can sit between the model's defaults and the command line: the command passes
``given(PrepareConfig, locals())`` to ``PrepareConfig.load``. ``tests/test_layout.py`` checks that every
command declares exactly the settings its model makes flags, with their types.

``run_app`` runs an app as a console script: user errors become one line and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from classit_data.core.settings import FlagSpec, Settings

#: the ``--json`` flag every stage command has
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]


def _help(spec: FlagSpec) -> str:
    field = spec.field
    text = field.description or ""
    if field.is_required():
        # needed, but it may come from a settings file (--config): shown as a required option is shown, never
        # enforced by typer (which would refuse the file's value); loading the settings checks it
        return f"{text} [required]".strip()
    default = field.get_default(call_default_factory=True)
    if default is not None and default is not False and default != []:
        text = f"{text} [default: {default}]".strip()
    return text


def setting(settings: type[Settings], name: str) -> Any:
    """The typer option of setting ``name`` of ``settings``: its flags and its help (with the model's default).

    A bool is ``--name/--no-name``, so a command line can overrule a settings file either way.
    """
    spec = settings.flag_specs()[name]
    flags = list(spec.flags)
    if spec.kind is bool and not spec.multiple:
        flags = [f"{flags[0]}/--no-{flags[0].removeprefix('--')}", *flags[1:]]
    option = typer.Option(*flags, help=_help(spec), show_default=False)
    _SETTING_OPTIONS[id(option)] = (settings, name, option)
    return option


#: the options ``setting`` made: id -> (model, field name, the option, kept alive so the id stays its own)
_SETTING_OPTIONS: dict[int, tuple[type[Settings], str, Any]] = {}


def setting_of(option: Any) -> tuple[type[Settings], str] | None:
    """(settings model, field name) of an option made by ``setting``; None for any other option."""
    found = _SETTING_OPTIONS.get(id(option))
    return (found[0], found[1]) if found is not None and found[2] is option else None


def given(settings: type[Settings], values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings among a command's arguments (its ``locals()``) that the user gave: not None, not empty."""
    return {
        name: values[name]
        for name in settings.flag_specs()
        if name in values and values[name] is not None and values[name] != []
    }


def new_app(name: str, help: str) -> typer.Typer:
    """A typer app as both CLIs want it: help without arguments, plain tracebacks, no shell-completion options,
    and plain help text, where a flag reads as a flag (``--json``, ``--dedup / --no-dedup``)."""
    app = typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
        context_settings={"max_content_width": 120},
    )
    app.callback()(_group)  # a group even when it has one command: `prog NAME ...` keeps its NAME
    return app


def _group(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also show the engines' own logs (vLLM, transformers, the Trainer) on stderr."
        ),
    ] = False,
) -> None:
    """Before any command: the engines stay quiet unless ``--verbose`` (``classit-data --verbose COMMAND ...``)."""
    from classit_data.core.console import set_verbose

    set_verbose(verbose)


_COMMAND_LINE = "command_line"


def command_line(ctx: typer.Context) -> str | None:
    """The command line that started this command (program and arguments, quoted for a shell), as ``run_app``
    received it; None when the app was called some other way."""
    import shlex

    root = ctx.find_root().obj
    return shlex.join(root[_COMMAND_LINE]) if isinstance(root, dict) and _COMMAND_LINE in root else None


def run_app(app: typer.Typer, prog_name: str, argv: list[str] | None = None) -> int:
    """Run a typer app as a console script: user errors (``InputError``, an ``OSError`` naming a file) become
    one line and exit code 2."""
    from classit_data.core.console import console
    from classit_data.core.errors import InputError

    args = sys.argv[1:] if argv is None else argv
    try:
        # the command line as typed, for a command that records it (``command_line``)
        app(args=args, prog_name=prog_name, standalone_mode=True, obj={_COMMAND_LINE: [prog_name, *args]})
    except InputError as exc:
        console.print(f"error: {exc.one_line()}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    except OSError as exc:
        if exc.filename is None:
            raise
        # a place the OS refused (a read-only disk, a full one): the user's to fix, so one line too
        console.print(
            f"error: {exc.filename}: {exc.strerror or exc}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
