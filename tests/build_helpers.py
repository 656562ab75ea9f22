from tests.conftest import switchboard_rows, validated_inputs, wiki_rows_and_passages, write_inputs  # noqa
