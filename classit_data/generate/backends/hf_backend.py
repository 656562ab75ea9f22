"""transformers backend: batched ``generate`` with left padding, on CPU or a GPU.

No schema is enforced here, so everything rests on the tolerant parser. A batch is sampled under one
seed (set before it), derived from the passages in it: the same batch gives the same text on a rerun, and a
chunk's batches are always the same (its passages are fixed). Deterministic (the default) also asks torch for
its deterministic algorithms, where an operation has one (GPUs; on CPUs the kernels used here already are).
"""

from __future__ import annotations

import os
from pathlib import Path

from classit_data.generate.backends.base import Backend, Completion, Request, Sampling


class TransformersBackend(Backend):
    def __init__(
        self,
        model_path: Path | str,
        *,
        model_id: str,
        model_revision: str | None,
        batch_size: int = 8,
        dtype: str | None = None,
        device: str | None = None,
        threads: int | None = None,
        deterministic: bool = True,
    ):
        import torch

        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's deterministic workspace
            torch.use_deterministic_algorithms(True, warn_only=True)

        if threads:
            # on a busy CPU fewer threads can be much faster: OpenMP threads spin waiting for each other
            torch.set_num_threads(threads)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(name="transformers", model_id=model_id, model_revision=model_revision, seed_scope="batch")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype in (None, "auto"):
            dtype = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype))
        self.model.to(self.device).eval()
        self.batch_size = max(1, int(batch_size))
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.eos_ids.add(self.tokenizer.eos_token_id)
        self.info = {
            "device": self.device,
            "dtype": dtype,
            "batch_size": self.batch_size,
            "torch_threads": torch.get_num_threads(),
            "determinism": {"deterministic": deterministic, "seed_scope": self.seed_scope},
        }

    def generate(self, requests: list[Request], sampling: Sampling, schema: dict | None) -> list[Completion]:
        import torch

        out: list[Completion] = []
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start : start + self.batch_size]
            texts = [
                self.tokenizer.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True)
                for r in batch
            ]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(self.device) for k, v in enc.items()}
            seed = batch[0].seed
            if seed is not None:
                torch.manual_seed(seed)
            do_sample = sampling.temperature > 0
            kwargs = dict(
                max_new_tokens=sampling.max_tokens,
                do_sample=do_sample,
                repetition_penalty=sampling.repetition_penalty,
                pad_token_id=self.tokenizer.pad_token_id,
            )
            if do_sample:
                kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
            else:
                kwargs.update(temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                gen = self.model.generate(**enc, **kwargs)
            prompt_len = enc["input_ids"].shape[1]
            for i in range(len(batch)):
                ids = gen[i, prompt_len:].tolist()
                n = len(ids)
                finish = "length"
                for j, t in enumerate(ids):
                    if t in self.eos_ids:
                        n, finish = j + 1, "stop"
                        break
                text = self.tokenizer.decode(ids[:n], skip_special_tokens=True)
                prompt_tokens = int(enc["attention_mask"][i].sum())
                out.append(Completion(text, finish, prompt_tokens, n, seed))
        return out

    def close(self) -> None:
        del self.model
