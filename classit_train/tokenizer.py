"""A byte-level BPE tokenizer of a model's vocabulary size, trained on the pretraining corpus.

Byte-level (GPT-2 style) so that no character is ever unknown; three special tokens, ``<s>`` (BOS),
``</s>`` (EOS) and ``<pad>``. Saved as a transformers fast tokenizer, so ``AutoTokenizer.from_pretrained``
loads it. ``tokenizer(text)`` prepends BOS (as LLaMA tokenizers do); training code adds BOS/EOS itself
and calls it with ``add_special_tokens=False``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from classit_data.core.errors import InputError, first_line

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
SPECIAL_TOKENS = [BOS, EOS, PAD]
ROW_SUFFIXES = (".parquet", ".jsonl", ".ndjson")


def corpus_files(files: Sequence[str | Path] | None) -> list[Path]:
    """The corpus files, once every one is known to be a file: checked before anything heavy loads."""
    if not files:
        raise InputError("no corpus files given", "--corpus")
    for f in map(Path, files):
        if not f.is_file():
            raise InputError("no such file" if not f.exists() else "not a file", f)
    return [Path(f) for f in files]


def corpus_texts(files: Sequence[str | Path]) -> Iterator[str]:
    """Lines of plain-text files, or the ``text`` column of Parquet / JSON-lines row files."""
    for f in corpus_files(files):
        if f.suffix in ROW_SUFFIXES:
            yield from row_texts(f)
            continue
        try:
            with open(f, encoding="utf-8") as fh:
                yield from fh
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", f) from exc


def row_texts(path: str | Path) -> list[str]:
    """The ``text`` column of a Parquet / JSON-lines row file: strings, every one of them."""
    import polars as pl

    from classit_data.core.io import read_rows

    column = read_rows(path, required=["text"])["text"]
    if column.dtype != pl.String:
        raise InputError(f"column 'text' holds {column.dtype}, not strings", path)
    if column.null_count():
        row = column.is_null().arg_true()[0] + 1
        raise InputError(f"column 'text' is null in row {row:,} (of {len(column):,})", path)
    return column.to_list()


def train_tokenizer(
    corpus: Sequence[str | Path], vocab_size: int, out: str | Path | None = None, *, min_frequency: int = 2
):
    """Train the BPE tokenizer on ``corpus`` and save it to ``out`` (when given); returns it.

    Inputs:
        corpus: text files, or Parquet / JSON-lines rows with ``text``.
        vocab_size: the vocabulary's size, the three special tokens included (a model preset's).

    Outputs:
        out: a folder ``AutoTokenizer.from_pretrained`` loads (nothing is written when None).
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise InputError(f"vocabulary size {vocab_size} is below the 256 bytes plus special tokens", "--vocab-size")
    corpus_files(corpus)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    n_lines = 0

    def counted() -> Iterator[str]:
        nonlocal n_lines
        for text in corpus_texts(corpus):
            n_lines += 1
            yield text

    tok.train_from_iterator(counted(), trainer=trainer)
    if n_lines == 0:
        raise InputError("the corpus is empty", str(corpus[0]))
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        model_max_length=1_000_000,
        clean_up_tokenization_spaces=False,
    )
    if out is not None:  # replaced whole, never into what it was trained on
        from classit_data.core.outputs import replaced_together

        with replaced_together({"--out": out}, {"--corpus": corpus}, folders=["--out"]) as outs:
            fast.save_pretrained(str(outs.path("--out")))
    return fast


def tokenizer_folder(path: str | Path) -> Path:
    """The tokenizer folder given, once it is known to be a folder."""
    p = Path(path)
    if not p.is_dir():
        raise InputError("no such tokenizer folder", p)
    return p


def load_tokenizer(path: str | Path):
    """A tokenizer folder (or a model folder with one); it must have BOS, EOS and a pad token."""
    p = tokenizer_folder(path)
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(p))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a tokenizer: {first_line(exc)}", p) from exc
    if tok.eos_token_id is None:
        raise InputError("the tokenizer has no EOS token", p)
    if tok.bos_token_id is None:
        tok.bos_token = tok.eos_token
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok
