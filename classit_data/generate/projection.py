"""What the whole passage file will take, projected from a run's own figures: tokens per passage (of every
passage with a chunk record), the passages of the file still without one, the engine time the rest takes at
this run's rate, and its price at ``--price-per-mtok IN,OUT`` (per million prompt and output tokens).

A resumed run that generated nothing has no rate of its own: its time is then unknown (None), not guessed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Projection(BaseModel):
    """The rest of the passage file at this run's figures (``summary.json``'s ``projection``)."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens_per_passage: float | None
    output_tokens_per_passage: float | None
    passages_left: int
    prompt_tokens_left: int | None
    output_tokens_left: int | None
    seconds_left: float | None
    price_per_mtok: tuple[float, float] | None
    price_left: float | None
    price_whole_file: float | None

    def line(self) -> str:
        """One line for the summary table."""
        if self.prompt_tokens_per_passage is None:
            return f"{self.passages_left} passages left; no passage done yet to project from"
        parts = [
            f"{self.passages_left:,} passages left",
            f"{self.prompt_tokens_per_passage:,.0f} prompt + {self.output_tokens_per_passage:,.0f} output "
            "tokens/passage",
            f"{self.prompt_tokens_left:,} + {self.output_tokens_left:,} tokens",
            "time unknown (nothing generated now)" if self.seconds_left is None else f"{_hours(self.seconds_left)}",
        ]
        if self.price_left is not None:
            parts.append(f"price {self.price_left:,.4f} left of {self.price_whole_file:,.4f} for the file")
        return "; ".join(parts)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h at this run's rate" if seconds >= 3600 else f"{seconds:,.0f} s at this run's rate"


def project(totals: dict, this_run: dict, price_per_mtok: tuple[float, float] | None) -> Projection:
    """The projection from the summary's totals (every record of the selection) and this run's engine work."""
    done, in_file = totals["passages_done"], totals["passages_in_file"]
    left = max(in_file - done, 0)
    if not done:
        return Projection(
            prompt_tokens_per_passage=None,
            output_tokens_per_passage=None,
            passages_left=left,
            prompt_tokens_left=None,
            output_tokens_left=None,
            seconds_left=None,
            price_per_mtok=price_per_mtok,
            price_left=None,
            price_whole_file=None,
        )
    prompt, output = totals["prompt_tokens"] / done, totals["output_tokens"] / done
    rate = this_run.get("passages_per_s")
    price = None
    if price_per_mtok is not None:
        price = (prompt * price_per_mtok[0] + output * price_per_mtok[1]) / 1e6  # per passage
    return Projection(
        prompt_tokens_per_passage=round(prompt, 1),
        output_tokens_per_passage=round(output, 1),
        passages_left=left,
        prompt_tokens_left=round(prompt * left),
        output_tokens_left=round(output * left),
        seconds_left=round(left / rate, 1) if rate else None,
        price_per_mtok=price_per_mtok,
        price_left=None if price is None else round(price * left, 4),
        price_whole_file=None if price is None else round(price * in_file, 4),
    )
