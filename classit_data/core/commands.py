"""The two CLIs' machinery: typer apps, and command-line options generated from a stage's pydantic settings.

``command(app, name, Settings)`` registers a command: its own arguments, one ``--flag`` per setting, ``--json``,
and the ``Summary`` it returns shown as a table (or as JSON). A stage declares its settings as a pydantic model
(``Field(default, description=...)``); ``settings_options`` makes the flags. Every generated option defaults
to "not given", so a settings file (``--config``) can sit between the model's defaults and the command line,
and the help shows the model's default. A field opts out with ``json_schema_extra={"cli": False}`` (set it in
a file or with ``--set``) and names its own flags with ``json_schema_extra={"flags": ["--format"]}``.

Commands are made when the app runs, not when the CLI module is imported: a run makes only the command it names,
so it imports only that stage's settings (given as ``"package.module:Class"``); the help makes them all.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from rich.markup import escape

_SCALARS = (str, int, float, bool)


def _scalar_type(annotation: Any) -> type | None:
    """The one scalar type of ``T``, ``T | None`` or ``Literal[...]`` of one type; None for lists, dicts..."""
    if annotation in _SCALARS:
        return annotation
    if typing.get_origin(annotation) is typing.Literal:
        kinds = {type(a) for a in typing.get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 and kinds <= set(_SCALARS) else None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and args[0] in _SCALARS:
            return args[0]
    return None


def _extra(field: FieldInfo) -> dict:
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def _help(field: FieldInfo) -> str:
    text = field.description or ""
    if field.is_required():
        return text
    default = field.get_default(call_default_factory=True)
    if default is not None and default is not False:
        # escaped: typer renders help as rich markup, where a bare [default: x] is a tag and vanishes
        text = f"{text} {escape(f'[default: {default}]')}".strip()
    return text


def option_fields(settings: type[BaseModel]) -> dict[str, tuple[type, FieldInfo]]:
    """The settings that become command-line options: scalar fields not marked ``cli: False``."""
    out = {}
    for name, field in settings.model_fields.items():
        kind = _scalar_type(field.annotation)
        if kind is not None and _extra(field).get("cli", True):
            out[name] = (kind, field)
    return out


def _parameter(name: str, kind: type, field: FieldInfo) -> inspect.Parameter:
    flag = "--" + name.replace("_", "-")
    flags = list(_extra(field).get("flags", [flag]))
    if kind is bool:
        # --x/--no-x: both directions, so a command line can overrule a settings file either way
        flags = [f"{flags[0]}/--no-{flags[0].removeprefix('--')}", *flags[1:]]
    help_text = _help(field)
    if _extra(field).get("required"):
        # needed, but it may come from a settings file (--config): shown as click shows a required option,
        # never enforced by click (which would refuse the file's value); the stage checks it
        help_text = f"{help_text} {escape('[required]')}".strip()
    option = typer.Option(*flags, help=help_text, show_default=False)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[kind | None, option])


def _own_parameters(function: Callable) -> list[inspect.Parameter]:
    """A command's named parameters, with their annotations resolved (the modules use postponed annotations)."""
    hints = typing.get_type_hints(function, include_extras=True)
    return [p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(function).parameters.values() if p.kind is not p.VAR_KEYWORD]


def _presented_as(wrapper: Callable, params: list[inspect.Parameter]) -> Callable:
    """Make typer read ``params`` as ``wrapper``'s signature, not the wrapped function's."""
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    wrapper.__dict__.pop("__wrapped__", None)
    return wrapper


def settings_options(settings: type[BaseModel], *, exclude: tuple[str, ...] = ()) -> Callable:
    """Decorate a typer command whose last parameter is ``**options``: one option per setting.

    The command receives only the options the user gave, as keyword arguments to pass on to the stage.
    """

    def decorate(command: Callable) -> Callable:
        fields = {k: v for k, v in option_fields(settings).items() if k not in exclude}
        own = _own_parameters(command)
        generated = [_parameter(name, kind, field) for name, (kind, field) in fields.items()]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            options = {k: kwargs.pop(k) for k in fields if kwargs.get(k) is not None}
            for k in fields:
                kwargs.pop(k, None)
            return command(**kwargs, **options)

        return _presented_as(wrapper, own + generated)

    return decorate


class App(typer.Typer):
    """A typer app whose commands are made when it runs (:func:`make_commands`), in the order they were declared."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.declared: dict[str, Callable[[], None]] = {}  # name -> makes the command, in the order declared
        self.made: set[str] = set()
        self.callback()(_group)  # a group even when one command is made: `prog NAME ...` keeps its NAME


def _group() -> None:
    """(the group's own callback: nothing to do before a command)"""


def new_app(name: str, help: str) -> App:
    """A typer app as both CLIs want it: help without arguments, plain tracebacks, no shell-completion options."""
    return App(name=name, help=help, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


def make_commands(app: App, only: str | None = None) -> App:
    """Make ``app``'s declared commands (each once): only the one named ``only`` when it is one, else all."""
    order = list(app.declared)
    for name in [only] if only in app.declared else order:
        if name not in app.made:
            app.made.add(name)
            app.declared[name]()
    app.registered_commands.sort(key=lambda info: order.index(info.name))
    return app


def _settings_class(settings: type[BaseModel] | str) -> type[BaseModel]:
    if not isinstance(settings, str):
        return settings
    module, _, name = settings.partition(":")
    return getattr(importlib.import_module(module), name)


def command(app: App, name: str, settings: type[BaseModel] | str | None = None, *,
            exclude: tuple[str, ...] = (), json_flag: bool = True, progress: bool = False) -> Callable:
    """Declare a command of ``app``: one option per setting of ``settings`` (the class or ``"module:Class"``),
    and the ``Summary`` it returns shown.

    With ``json_flag`` the command also gets ``--json`` (the summary as JSON on stdout). With ``progress`` the
    command is handed ``progress=False`` under ``--json`` (else True), among its keyword arguments, to pass on.
    """

    def decorate(function: Callable) -> Callable:
        app.declared[name] = functools.partial(_make_command, app, name, function, settings, exclude, json_flag,
                                               progress)
        return function

    return decorate


def _make_command(app: App, name: str, function: Callable, settings: type[BaseModel] | str | None,
                  exclude: tuple[str, ...], json_flag: bool, progress: bool) -> None:
    if settings is not None:
        function = settings_options(_settings_class(settings), exclude=exclude)(function)
    params = _own_parameters(function)
    if json_flag:
        params.append(inspect.Parameter("json_summary", inspect.Parameter.KEYWORD_ONLY, default=False,
                                        annotation=Annotated[bool, _JSON_OPTION]))

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> None:
        as_json = kwargs.pop("json_summary", False)
        if progress:
            kwargs["progress"] = not as_json
        summary = function(**kwargs)
        if summary is not None:
            summary.show(as_json)

    app.command(name)(_presented_as(wrapper, params))


_JSON_OPTION = typer.Option("--json", help="Print the summary as JSON on stdout.")


def run_app(app: App, prog_name: str, argv: list[str] | None = None) -> int:
    """Run a typer app as a console script: user errors (``InputError``, an ``OSError`` naming a file) become
    one line and exit code 2."""
    from classit_data.core.console import console
    from classit_data.core.errors import InputError

    args = sys.argv[1:] if argv is None else argv
    try:
        make_commands(app, only=args[0] if args else None)
        app(args=args, prog_name=prog_name, standalone_mode=True)
    except InputError as exc:
        console.print(f"error: {exc.one_line()}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 2
    except OSError as exc:
        if exc.filename is None:
            raise
        # a place the OS refused (a read-only disk, a full one): the user's to fix, so one line too
        console.print(f"error: {exc.filename}: {exc.strerror or exc}", style="red", markup=False, highlight=False,
                      soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
