"""The settings of ``stats`` and ``build``: each is a keyword of its stage function, with the same default."""

from __future__ import annotations

import inspect

import pytest

from classit_data.dataset import build_dataset, compute_stats
from classit_data.dataset.config import BuildConfig, StatsConfig
from classit_data.core.commands import option_fields


@pytest.mark.parametrize("settings, stage", [(StatsConfig, compute_stats), (BuildConfig, build_dataset)])
def test_every_setting_is_a_keyword_of_the_stage_with_its_default(settings, stage):
    parameters = inspect.signature(stage).parameters
    for name, field in settings.model_fields.items():
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameters[name].default == field.default, name
    assert set(option_fields(settings)) == set(settings.model_fields)  # every setting is a command-line flag


def test_help_shows_each_default_once(cli):
    r = cli("build", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    for flag, default in (("--seed", "0"), ("--max-shard-size", "500MB")):
        line = next(x for x in r.stdout.splitlines() if f" {flag} " in x)
        assert line.count(f"[default: {default}]") == 1, line
    assert "--force" in r.stdout and "--val-fraction" in r.stdout
