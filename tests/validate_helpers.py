from tests.conftest import PASSAGES, PASSAGE_IDS, QA_PAIRS, SWITCHBOARD_PAIRS, frame, good_rows, passages_frame, qa, sw  # noqa
