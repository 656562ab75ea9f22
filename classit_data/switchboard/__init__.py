"""``convert-switchboard``: Switchboard transcripts to prompt/reply items."""

from classit_data.switchboard.convert import convert_switchboard

__all__ = ["convert_switchboard"]
