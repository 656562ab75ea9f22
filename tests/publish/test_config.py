"""The settings of ``push``: each is a keyword of ``push_dataset``, with the same default."""

from __future__ import annotations

import inspect

from classit_data.core.commands import option_fields
from classit_data.publish import push_dataset
from classit_data.publish.config import PushConfig


def test_every_setting_is_a_keyword_of_push_dataset_with_its_default():
    parameters = inspect.signature(push_dataset).parameters
    for name, field in PushConfig.model_fields.items():
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameters[name].default == field.default, name
    assert set(option_fields(PushConfig)) == set(PushConfig.model_fields)
