"""The settings of ``stats``, ``build`` and ``report``: one settings object per stage, every setting a flag."""

from __future__ import annotations

import inspect

import pytest

from classit_data.dataset.build import build
from classit_data.dataset.config import BuildConfig, ReportConfig, StatsConfig
from classit_data.dataset.report import report
from classit_data.dataset.stats import stats
from tests.helpers import help_entries


@pytest.mark.parametrize("settings, stage", [(StatsConfig, stats), (BuildConfig, build), (ReportConfig, report)])
def test_the_stage_takes_one_settings_object_and_every_setting_is_a_flag(settings, stage):
    parameters = inspect.signature(stage).parameters
    assert parameters["settings"].default is None  # None: the model's defaults
    assert not set(settings.model_fields) & set(parameters), "a setting is also a keyword of the stage"
    assert set(settings.flag_specs()) == set(settings.model_fields)  # every setting is a command-line flag


def test_quantile_has_its_short_flag_and_bad_values_name_their_flag():
    from classit_data.core.errors import InputError

    assert StatsConfig.flag_specs()["quantile"].flags == ("--quantile", "-q")
    with pytest.raises(InputError, match=r"^--quantile 1\.5: must be in \(0, 1\]$"):
        StatsConfig.load(None, quantile=1.5)
    with pytest.raises(InputError, match="^--scale 'weird': must be log or linear$"):
        StatsConfig.load(None, scale="weird")
    with pytest.raises(InputError, match="^--val-fraction 1.0: "):
        BuildConfig.load(None, val_fraction=1.0)


def test_help_shows_each_default_once(cli):
    r = cli("build", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    entries = help_entries(r.stdout)
    for flag, default in (("--seed", "0"), ("--max-shard-size", "500MB")):
        entry = next(x for x in entries if x.startswith(f"{flag} "))
        assert entry.count(f"[default: {default}]") == 1, entry
    assert "--force" in r.stdout and "--val-fraction" in r.stdout
