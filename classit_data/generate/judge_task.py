"""The judge task: a passage and its QA pairs become chat messages; the model's raw reply becomes one set of
scores per pair, or a reason why a pair (or the whole reply) could not be read.

One request per passage carries all its pairs: the passage (most of the prompt) is sent once, not once per
pair. Parsing is as tolerant as the QA task's (:func:`~classit_data.generate.task.find_json`), and whatever
cannot be read is kept aside with the raw text and a reason, never raised.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

import jinja2

from classit_data.generate.prompts import PromptSet
from classit_data.generate.task import Reject, listed_objects, lower_keys, reply_json

DEFAULT_RUBRIC = "judge.yaml"
#: the scores of a pair, each an integer on SCALE
SCORES = ("grounded", "correct", "self_contained", "quality")
SCALE = (1, 5)
REASON_KEYS = ("reason", "reasons", "explanation", "why", "comment")
LIST_KEYS = ("judgements", "judgments", "scores", "pairs", "results", "items", "data", "output")
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class Judgement:
    """One pair's scores, one-line reason and (round trip) the judge's own answer."""

    scores: dict[str, int]
    reason: str
    answer: str | None = None


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD's token F1 of two short answers (lower case, punctuation and articles ignored)."""

    def tokens(text: str) -> list[str]:
        return [w for w in re.sub(r"[^\w\s]", " ", text.lower()).split() if w not in ("a", "an", "the")]

    p, r = tokens(prediction), tokens(reference)
    common = sum((Counter(p) & Counter(r)).values())
    if not p or not r or not common:
        return float(p == r)
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


class JudgeTask:
    """Same interface as :class:`~classit_data.generate.task.QATask`: ``messages(unit)`` for the engine,
    ``parse(raw, finish_reason, n)`` after it; a unit is a passage row with a ``pairs`` list."""

    command = "judge"
    outputs = ("judged", "judge_rejects")

    def __init__(self, prompts: PromptSet, roundtrip: bool = False):
        self.prompts, self.roundtrip = prompts, bool(roundtrip)
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self._user = env.from_string(prompts.user_template)
        self.prompt_hash = prompts.prompt_hash(extra=f"roundtrip={self.roundtrip}")
        self.schema = json.loads(json.dumps(prompts.schema))
        if self.roundtrip:
            self.schema.get("items", {}).setdefault("required", []).insert(0, "answer")
        #: what the task adds to the sampling column and the run's identity
        self.settings = {"roundtrip": self.roundtrip}

    def _user_text(self, unit: dict, pairs: list[dict]) -> str:
        return self._user.render(
            title=unit.get("title") or "",
            section=unit.get("section") or "",
            text=unit["text"],
            pairs=pairs,
            roundtrip=self.roundtrip,
        ).strip()

    def _example_reply(self, pairs: list[dict]) -> str:
        keep = ("answer", *SCORES, "reason") if self.roundtrip else (*SCORES, "reason")
        return json.dumps([{k: p["judgement"][k] for k in keep} for p in pairs], ensure_ascii=False)

    def messages(self, unit: dict) -> list[dict]:
        """The rubric, the worked examples as earlier turns, then the passage with its pairs."""
        msgs = [{"role": "system", "content": self.prompts.system}]
        for example in self.prompts.fewshot:
            msgs.append({"role": "user", "content": self._user_text(example, example["pairs"])})
            msgs.append({"role": "assistant", "content": self._example_reply(example["pairs"])})
        msgs.append({"role": "user", "content": self._user_text(unit, list(unit["pairs"]))})
        return msgs

    def parse(self, raw: str | None, finish_reason: str | None, n: int) -> list[Judgement | Reject] | Reject:
        """One judgement or reject per pair (in order), or a ``Reject`` for the whole reply."""
        raw = raw or ""
        value = reply_json(raw, finish_reason)
        if isinstance(value, Reject):
            return value
        objects = _judgement_objects(value)
        if not objects:
            return Reject("wrong_shape", raw, f"JSON {type(value).__name__} holds no judgements")
        out: list[Judgement | Reject] = []
        for i in range(n):
            if i >= len(objects):
                out.append(Reject("missing_judgement", raw, f"{len(objects)} judgements for {n} pairs", i))
                continue
            out.append(self._judgement(objects[i], i))
        return out

    def _judgement(self, obj, position: int) -> Judgement | Reject:
        text = json.dumps(obj, ensure_ascii=False)[:2000]
        if not isinstance(obj, dict):
            return Reject("not_an_object", text, position=position)
        low = lower_keys(obj)
        scores = {}
        for key in SCORES:
            score = _score(low.get(key, low.get(key.replace("_", " "))))
            if score is None:
                return Reject("bad_score", text, f"{key}: {low.get(key)!r}", position)
            scores[key] = score
        reason = next((low[k] for k in REASON_KEYS if isinstance(low.get(k), str)), "")
        reason = " ".join(reason.split())[:MAX_REASON_CHARS]
        answer = low.get("answer")
        if self.roundtrip and not isinstance(answer, str):
            return Reject("no_roundtrip_answer", text, position=position)
        return Judgement(scores, reason, " ".join(answer.split()) if isinstance(answer, str) else None)


def _judgement_objects(value) -> list:
    return listed_objects(value, LIST_KEYS, SCORES) or []


def _score(value) -> int | None:
    """An integer score on ``SCALE`` from an int, an integral float or a numeric string ("4", "4/5")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        m = re.match(r"\s*(\d+)(?:\.0+)?\s*(?:/\s*\d+)?\s*$", value)
        value = int(m.group(1)) if m else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and SCALE[0] <= value <= SCALE[1]:
        return value
    return None
