"""The package layout's rules: no import cycle inside either package, imports flow one way, the README's API exists.

Every ``import`` counts, at module level or inside a function: a lazy import that closes a cycle still ties
two modules together. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from classit_data.core.settings import Settings
from classit_data.core.summary import Summary
from tests.helpers import ROOT

PACKAGES = ("classit_data", "classit_train")


def _module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the two packages it imports."""
    files = _module_files()
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(name, node, path.name == "__init__.py")
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in files else source for a in node.names]
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize(
    "layer, may_not_import",
    [
        (
            "classit_data.core",
            (
                "classit_data.switchboard",
                "classit_data.wiki",
                "classit_data.generate",
                "classit_data.validate",
                "classit_data.dataset",
                "classit_data.publish",
                "classit_data.cli",
                "classit_data.demo",
                "classit_train",
            ),
        ),
        ("classit_data", ("classit_train",)),
        ("classit_data.switchboard", ("classit_data.cli", "classit_data.demo")),
        ("classit_data.wiki", ("classit_data.cli", "classit_data.demo")),
        ("classit_data.generate", ("classit_data.cli", "classit_data.demo")),
        ("classit_data.validate", ("classit_data.cli", "classit_data.demo", "classit_data.dataset")),
        ("classit_data.dataset", ("classit_data.cli", "classit_data.demo", "classit_data.publish")),
        ("classit_data.publish", ("classit_data.cli", "classit_data.demo")),
        ("classit_train", ("classit_train.cli",)),
    ],
)
def test_imports_flow_one_way(layer, may_not_import):
    """core <- stages <- cli: a lower layer never imports a higher one."""

    def inside(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    wrong = sorted(
        f"{m} imports {t}"
        for m, targets in import_graph().items()
        if inside(m, layer) and m not in (f"{layer}.cli", f"{layer}.__main__")
        for t in targets
        if any(inside(t, f) for f in may_not_import)
    )
    assert not wrong, "\n".join(wrong)


def test_the_python_api_named_in_the_docs_imports():
    """Every ``from classit_... import ...`` line of the examples in the README and in ``docs/`` names something
    that exists."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    lines = [
        (page.relative_to(ROOT), module, names)
        for page in pages
        for module, names in re.findall(
            r"^\s*from (classit_(?:data|train)[\w.]*) import ([\w, ]+)$", page.read_text(encoding="utf-8"), flags=re.M
        )
    ]
    assert len(lines) >= 6
    for page, module, names in lines:
        imported = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(imported, name), f"{page}: {module} has no {name}"


# --- the shape of the code: short functions, no forged signatures, no folder a tool takes for build output ------

MAX_FUNCTION_LINES = 60


def _package_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of every function in ``source`` whose code, its docstring left out, is longer than
    ``MAX_FUNCTION_LINES`` (a docstring in fixed sections says what a function takes; it is not code to read)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines -= first.end_lineno - first.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append((node.name, lines))
    return found


def test_no_function_is_over_60_lines():
    found = [
        f"{path.relative_to(ROOT)}: {name} ({n} lines)"
        for path in _package_files()
        for name, n in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


def forged_signatures(source: str) -> list[str]:
    """Assignments to ``__signature__``, ``__annotations__`` or ``__wrapped__`` (what typer would read)."""
    names = ("__signature__", "__annotations__", "__wrapped__")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names and isinstance(node.ctx, ast.Store | ast.Del):
            found.append(node.attr)
        elif isinstance(node, ast.Constant) and node.value in names:  # setattr(f, "__signature__", ...), pop(...)
            found.append(node.value)
    return found


def test_no_module_writes_a_signature():
    """A command's options are in its source: nothing rewrites what typer reads from a function."""
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _package_files()
        for name in forged_signatures(path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


def test_the_checks_of_the_shape_fail_where_they_should():
    long = "def f():\n" + "    x = 1\n" * 61
    documented = 'def f():\n    """Doc.\n\n    More.\n    """\n' + "    x = 1\n" * 59
    assert long_functions(long) == [("f", 62)] and long_functions("def f():\n    pass\n") == []
    assert long_functions(documented) == []
    assert forged_signatures("f.__signature__ = s") == ["__signature__"]
    assert forged_signatures("f.__dict__.pop('__wrapped__', None)") == ["__wrapped__"]
    assert forged_signatures("x = f.__signature__") == []


def test_no_folder_inside_a_package_is_named_build():
    """pytest, ruff, black and the usual .gitignore templates skip folders named build."""
    found = [
        str(path.relative_to(ROOT))
        for package in PACKAGES + ("tests",)
        for path in (ROOT / package).rglob("build")
        if path.is_dir()
    ]
    assert not found, found


# --- the stage contract, and the README's table of stages against the CLIs ---------------------------------------


def readme_stages() -> dict[str, str]:
    """The README's "Where things live" table: command -> ``module:function`` of its stage."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w-]+(?: [\w-]+)?)` \| `([\w.]+):(\w+)` \|", section, flags=re.M)
    return {command: f"{module}:{function}" for command, module, function in rows}


def cli_commands() -> set[str]:
    from classit_data.cli import app as data_app
    from classit_train.cli import app as train_app

    return {f"classit-data {info.name}" for info in data_app.registered_commands} | {
        f"classit-train {info.name}" for info in train_app.registered_commands
    }


def test_the_readme_table_lists_every_command_and_no_other():
    assert set(readme_stages()) == cli_commands()


def contract_problems(function, settings_base, summary_base) -> list[str]:
    """How ``function`` departs from the stage contract: inputs and outputs, one ``settings`` object whose
    class is a ``Settings`` model, no ``**options``, and a typed ``Summary`` returned."""
    import inspect
    import typing

    hints = typing.get_type_hints(function)
    params = inspect.signature(function).parameters
    problems = []
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        problems.append("takes **keywords")
    settings = [a for a in typing.get_args(hints.get("settings")) if isinstance(a, type)]
    if "settings" not in params or not any(issubclass(a, settings_base) for a in settings):
        problems.append("has no `settings: XConfig | None` parameter")
    returned = hints.get("return")
    if not (isinstance(returned, type) and issubclass(returned, summary_base)):
        problems.append("returns no Summary")
    return problems


#: commands whose function makes an artefact and no figures: `tokenizer` returns the tokenizer it trained
NOT_STAGES = {"classit-train tokenizer"}


@pytest.mark.parametrize("command", sorted(set(readme_stages()) - NOT_STAGES))
def test_every_stage_follows_the_contract(command):
    module, function = readme_stages()[command].split(":")
    stage = getattr(importlib.import_module(module), function)
    assert contract_problems(stage, Settings, Summary) == [], command


class _ExampleSettings(Settings):
    pass


class _ExampleSummary(Summary):
    pass


def _good_stage(inputs: list[str], out: str, settings: _ExampleSettings | None = None) -> _ExampleSummary: ...


def _loose_stage(inputs: list[str], out: str, **options) -> dict: ...


def test_the_contract_check_finds_departures():
    assert contract_problems(_good_stage, Settings, Summary) == []
    assert contract_problems(_loose_stage, Settings, Summary) == [
        "takes **keywords",
        "has no `settings: XConfig | None` parameter",
        "returns no Summary",
    ]


def test_every_setting_flag_is_an_option_of_its_command():
    """Each command's signature declares its settings' flags (``setting(X, name)``), of their types: all of them,
    unless the model serves several commands (``TrainConfig``: pretrain and run each take their part)."""

    from classit_data.cli import app as data_app
    from classit_data.core.settings import Settings, scalar_type
    from classit_train.cli import app as train_app

    checked = 0
    commands = [*data_app.registered_commands, *train_app.registered_commands]
    users: dict[type, int] = {}
    for info in commands:
        for model in {m for m, _ in _setting_options(info.callback).values()}:
            users[model] = users.get(model, 0) + 1
    for info in commands:
        declared = _setting_options(info.callback)
        models = {m for m, _ in declared.values()}
        for model in models:
            assert issubclass(model, Settings)
            wanted = set(model.flag_specs())
            mine = {n for n, (m, _) in declared.items() if m is model}
            assert mine <= wanted and (mine == wanted or users[model] > 1), f"{info.name}: {sorted(mine ^ wanted)}"
            for name in mine:
                spec = model.flag_specs()[name]
                kind = str if spec.multiple else scalar_type(declared[name][1])
                assert kind is spec.kind, f"{info.name} --{name}: {declared[name][1]} for {spec.kind}"
                checked += 1
    assert checked > 50


def _setting_options(callback) -> dict[str, tuple[type, object]]:
    """A command's parameters declared with ``setting(X, name)``: name -> (X, the parameter's type)."""
    import typing

    from classit_data.core.commands import setting_of

    found = {}
    for name, hint in typing.get_type_hints(callback, include_extras=True).items():
        for meta in typing.get_args(hint)[1:]:
            if (declared := setting_of(meta)) is not None:
                assert declared[1] == name, f"{name} declared as the option of setting {declared[1]}"
                found[name] = (declared[0], typing.get_args(hint)[0])
    return found


# --- the tests' shared helpers: one module, tests/helpers.py -----------------------------------------------------


def _is_test_or_conftest(name: str) -> bool:
    return name == "conftest" or name.startswith("test_")


def shared_helper_violations(source: str, path: str) -> list[str]:
    """What a file under ``tests/`` does against the rule that shared helpers come from ``tests/helpers.py``: an
    import from a ``conftest`` or from a ``test_*`` module (relative or absolute, at any depth), and, anywhere but
    in ``tests/helpers.py``, an assignment to ``ROOT``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if any(map(_is_test_or_conftest, a.name.split(".")))]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if any(map(_is_test_or_conftest, (node.module or "").split("."))):
                found.append(f"from {module} import ...")
            elif node.level or module.split(".")[0] == "tests":  # from tests.generate import conftest
                found += [f"from {module} import {a.name}" for a in node.names if _is_test_or_conftest(a.name)]
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and path != "tests/helpers.py":
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            found += ["ROOT = ..." for name in names if name == "ROOT"]
    return found


def test_tests_share_helpers_through_tests_helpers_only():
    """Fixtures live in conftest files, every other shared helper (``ROOT`` included) in ``tests/helpers.py``:
    no file under ``tests/`` imports from a conftest or a test module, and only ``tests/helpers.py`` sets ROOT."""
    files = sorted((ROOT / "tests").rglob("*.py"))
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in files
        for what in shared_helper_violations(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    ]
    assert not found, "\n".join(found)
    assert len(files) > 50 and (ROOT / "tests" / "helpers.py") in files


def test_the_shared_helper_check_finds_what_is_planted():
    planted = (
        "from tests.conftest import one_error_line\n"
        "from tests.generate.test_watchdog import kill_all\n"
        "from .conftest import NOUNS\n"
        "from tests.generate import conftest, openai_stub\n"
        "import tests.train.conftest\n"
        "ROOT = Path(__file__).resolve().parents[1]\n"
        "def f():\n"
        "    from tests.test_layout import ROOT\n"
        "    ROOT: Path = Path('.')\n"
    )
    assert shared_helper_violations(planted, "tests/test_x.py") == [
        "from tests.conftest import ...",
        "from tests.generate.test_watchdog import ...",
        "from .conftest import ...",
        "from tests.generate import conftest",
        "import tests.train.conftest",
        "ROOT = ...",
        "from tests.test_layout import ...",
        "ROOT = ...",
    ]
    fine = (
        "from tests.helpers import ROOT, sw\nfrom tests import helpers as h\n"
        "from tests.generate.openai_stub import StubServer\nSCRIPT = 'from tests.conftest import x'\n"
    )
    assert shared_helper_violations(fine, "tests/test_x.py") == []
    assert shared_helper_violations("ROOT = Path(__file__).resolve().parents[1]\n", "tests/helpers.py") == []
