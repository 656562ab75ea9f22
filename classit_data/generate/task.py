"""The QA task: a passage becomes chat messages; a model's raw reply becomes question/answer pairs or a reject.

Kept apart from the engines: every backend feeds the same messages and gets its text parsed by the same
code. The parser is tolerant, because the schema is only enforced by vLLM and OpenAI-style servers and a
small model wraps JSON in code fences, adds prose, renames keys, stops half-way or never stops; whatever
cannot be read is kept aside with the raw text and a reason, never raised.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import jinja2

from classit_data.generate.prompts import PromptSet

#: keys a model may use for the question / the answer (compared case-insensitively)
QUESTION_KEYS = ("question", "q", "query", "prompt", "questions_text")
ANSWER_KEYS = ("answer", "a", "reply", "response", "ans")
#: keys under which a model may nest the list of pairs
LIST_KEYS = ("pairs", "qa", "qas", "qa_pairs", "questions", "items", "data", "results", "output")

#: a field longer than this is not a question or a short answer but a runaway generation
MAX_QUESTION_CHARS = 400
MAX_ANSWER_CHARS = 800
#: raw outputs are scanned for JSON only in their first this-many characters (bounds the work on huge output)
MAX_SCAN_CHARS = 50_000
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|\Z)", re.S)


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str


@dataclass(frozen=True)
class Reject:
    """Output (or one pair of it) that does not become a row: why, and what the model wrote."""

    reason: str
    raw: str
    detail: str = ""
    position: int | None = None


@dataclass
class Parsed:
    """A usable reply: its pairs, and the pairs of it that were dropped, each with its reason."""

    pairs: list[QAPair] = field(default_factory=list)
    dropped: list[Reject] = field(default_factory=list)


class GenerationTask(Protocol):
    """What the runner and the executors need of a task (:class:`QATask`, ``judge_task.JudgeTask``): the
    messages of a unit of work, and what names its outputs and its identity. Parsing a reply is the task's own
    business (each run's ``assemble`` step calls it), so it is not part of this."""

    #: the command it is run by, as ``run.json`` records it
    command: str
    #: the names of its two row files: the rows, and what was kept aside
    outputs: tuple[str, str]
    prompts: PromptSet
    prompt_hash: str
    #: the JSON schema a reply is held to where the engine can hold it to one
    schema: dict
    #: what the task adds to the sampling column and the run's identity
    settings: dict[str, Any]

    def messages(self, unit: dict) -> list[dict]:
        """The chat messages of one unit of work (a passage row)."""
        ...


class QATask:
    """distilabel-style task: ``messages(passage)`` for the engine, ``parse(raw, finish_reason)`` after it."""

    command = "generate-wiki"
    #: the names of its row files: items, and what was kept aside
    outputs = ("qa", "rejects")

    def __init__(self, prompts: PromptSet, num_pairs: int | None = None):
        self.prompts = prompts
        self.num_pairs = int(num_pairs or prompts.num_pairs)
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self._user = env.from_string(prompts.user_template)
        self.prompt_hash = prompts.prompt_hash(self.num_pairs)
        self.schema = prompts.schema_for(self.num_pairs)
        #: what the task adds to the sampling column and the run's identity
        self.settings = {"num_pairs": self.num_pairs}

    def _user_text(self, passage: dict, num_pairs: int) -> str:
        return self._user.render(
            title=passage.get("title") or "",
            section=passage.get("section") or "",
            text=passage["text"],
            num_pairs=num_pairs,
        ).strip()

    def messages(self, passage: dict) -> list[dict]:
        """System text, the worked examples as earlier turns, then the passage."""
        msgs = [{"role": "system", "content": self.prompts.system}]
        for example in self.prompts.fewshot:
            pairs = example["pairs"][: self.num_pairs]
            msgs.append({"role": "user", "content": self._user_text(example, len(pairs))})
            msgs.append({"role": "assistant", "content": json.dumps(pairs, ensure_ascii=False)})
        msgs.append({"role": "user", "content": self._user_text(passage, self.num_pairs)})
        return msgs

    def parse(self, raw: str | None, finish_reason: str | None = "stop") -> Parsed | Reject:
        """Pairs from a reply, or a ``Reject`` saying why there are none."""
        raw = raw or ""
        value = reply_json(raw, finish_reason)
        if isinstance(value, Reject):
            return value
        objects = _pair_objects(value)
        if objects is None:
            return Reject("wrong_shape", raw, f"JSON {type(value).__name__} holds no list of pairs")
        if not objects:
            return Reject("no_pairs", raw, "empty list")
        parsed = Parsed()
        seen: set[str] = set()
        for i, obj in enumerate(objects):
            pair_raw = json.dumps(obj, ensure_ascii=False)[: MAX_ANSWER_CHARS * 4]
            pair, why = _pair_of(obj)
            if pair is None:
                parsed.dropped.append(Reject(why, pair_raw, position=i))
                continue
            key = _norm(pair.question)
            if key in seen:
                parsed.dropped.append(Reject("duplicate_question", pair_raw, position=i))
                continue
            if len(parsed.pairs) >= self.num_pairs:
                parsed.dropped.append(Reject("extra_pair", pair_raw, f"more than {self.num_pairs} pairs", position=i))
                continue
            seen.add(key)
            parsed.pairs.append(pair)
        if not parsed.pairs:
            reasons = sorted({d.reason for d in parsed.dropped})
            return Reject("no_valid_pairs", raw, ",".join(reasons))
        return parsed


_NOTHING = object()


def find_json(raw: str):
    """The first JSON list or object in a text: inside a code fence if there is one, else anywhere."""
    text = raw[:MAX_SCAN_CHARS]
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for cand in candidates:
        tries = 0
        for m in re.finditer(r"[\[{]", cand):
            tries += 1
            if tries > 64:
                break
            try:
                value, _ = decoder.raw_decode(cand, m.start())
            except (ValueError, RecursionError):  # malformed, or nested deeper than Python recurses
                continue
            if isinstance(value, (list, dict)) and value:
                return value
            if isinstance(value, list):  # an empty list is an answer too: no pairs
                return value
    return _NOTHING


def reply_json(raw: str, finish_reason: str | None) -> object:
    """The JSON value in a model's reply, or a ``Reject`` saying why there is none to read."""
    if not raw.strip():
        return Reject("empty", raw)
    if finish_reason == "length":
        # cut at the token limit: whatever JSON there is may be missing pairs or half an answer
        return Reject("truncated", raw, "generation reached max_tokens")
    value = find_json(raw)
    if value is _NOTHING and len(raw) > MAX_SCAN_CHARS:
        return Reject("too_long", raw, f"{len(raw):,} characters and no JSON in the first {MAX_SCAN_CHARS:,}")
    if value is _NOTHING:
        return Reject("no_json" if not re.search(r"[\[{]", raw) else "bad_json", raw)
    return value


def lower_keys(obj: dict) -> dict:
    """The object's keys stripped and in lower case (models vary the case of the keys they were asked for)."""
    return {str(k).strip().lower(): v for k, v in obj.items()}


def listed_objects(value, list_keys: tuple[str, ...], markers: tuple[str, ...]) -> list | None:
    """The objects a JSON reply lists: the reply itself if a list, the list under one of ``list_keys``, or the
    reply alone when it has one of the ``markers`` keys; None when it holds none (models wrap lists freely)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        low = lower_keys(value)
        for key in list_keys:
            if isinstance(low.get(key), list):
                return low[key]
        if any(k in low for k in markers):
            return [value]
    return None


def _pair_objects(value) -> list | None:
    """The list of candidate pair objects in a JSON value (or its one list under any key), or None."""
    found = listed_objects(value, LIST_KEYS, QUESTION_KEYS)
    if found is None and isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    return found


def _field(low: dict, keys: tuple[str, ...]):
    for k in keys:
        if k in low:
            return low[k]
    return None


def _pair_of(obj) -> tuple[QAPair | None, str]:
    if isinstance(obj, list) and len(obj) == 2:  # ["question", "answer"]
        obj = {"question": obj[0], "answer": obj[1]}
    if not isinstance(obj, dict):
        return None, "not_an_object"
    low = lower_keys(obj)
    q, a = _field(low, QUESTION_KEYS), _field(low, ANSWER_KEYS)
    if q is None or a is None:
        return None, "wrong_keys"
    if isinstance(q, (int, float)) and not isinstance(q, bool):
        q = str(q)
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        a = str(a)  # "In what year ...?" -> 1990
    if not isinstance(q, str) or not isinstance(a, str):
        return None, "not_text"
    q, a = " ".join(q.split()), " ".join(a.split())
    if not q or not a:
        return None, "empty_field"
    if len(q) > MAX_QUESTION_CHARS or len(a) > MAX_ANSWER_CHARS:
        return None, "too_long"
    return QAPair(q, a), ""


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()
