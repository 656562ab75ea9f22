"""The settings of ``push``: one settings object, every setting but the retry backoff a flag."""

from __future__ import annotations

import inspect

from classit_data.publish.config import PushConfig
from classit_data.publish.push import push


def test_push_takes_one_settings_object_and_every_setting_is_a_flag():
    parameters = inspect.signature(push).parameters
    assert parameters["settings"].default is None  # None: the model's defaults
    assert not set(PushConfig.model_fields) & set(parameters), "a setting is also a keyword of push"
    assert set(PushConfig.flag_specs()) == set(PushConfig.model_fields) - {"backoff"}  # backoff: a file's
    assert PushConfig.load({"backoff": 0}).backoff == 0
