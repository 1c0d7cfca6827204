"""Backend ``hf``: a local model run in-process with Hugging Face ``transformers``.

The paper's open model, ``declare-lab/flan-alpaca-xl`` (a T5-XL fine-tuned on
instructions), is the default.  Any sequence-to-sequence model (T5 family:
``flan-alpaca-{base,large,xl}``, ``google/flan-t5-*``) or causal LM works, by
hub name or local directory.  A causal LM's prompt is wrapped in its
tokenizer's chat template when it has one.

How it runs:

* Loaded on the first :meth:`generate` (constructing the backend is cheap, so
  ``--dry-run`` never loads weights).  Device: ``--device``, else CUDA, Apple
  MPS or CPU, the first available; bfloat16 on a GPU that supports it,
  float32 elsewhere.
* Greedy decoding, ``max_new_tokens`` from the prompt template (a label needs a
  few tokens, a span more).
* Batched: prompts are tokenized once, sorted by length (so a batch pads
  little) and generated ``--batch-size`` at a time.  Decoder-only models pad
  on the left (generation continues from the last real token), encoder-decoder
  models on the right.  Answers are reported, in the caller's indexing, as each
  batch finishes, so the cache keeps everything done before an interruption.
* A batch that runs out of GPU memory is split in two and retried.

A model that cannot be found ends the run with one line: the name tried,
whether the path is absent or the hub unreachable, and how to use a local copy.
"""

from __future__ import annotations

import copy
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from emocause.backends.base import Backend, OnResult, Request, Response
from emocause.backends.encoders import check_device, quiet_transformers
from emocause.errors import FatalBackendError, UsageError

DEFAULT_MODEL = "declare-lab/flan-alpaca-xl"

_LOCAL_HINT = ("download it where the hub is reachable (`huggingface-cli download {name} "
               "--local-dir DIR`, or from_pretrained(...).save_pretrained(DIR)) and pass --model DIR")


def looks_like_path(name: str) -> bool:
    """Whether ``name`` is meant as a directory rather than a hub id (``owner/name``)."""
    return (name.startswith(("/", "./", "../", "~", "\\")) or name.count("/") > 1
            or (len(name) > 1 and name[1] == ":") or Path(name).expanduser().exists())


def hf_offline() -> bool:
    """Whether the user switched the Hugging Face hub off (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(k, "") not in ("", "0", "false", "False")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_reachable(timeout: float = 3.0) -> bool:
    """A TCP connection to the hub's endpoint opens (skipped, i.e. assumed, behind a proxy).

    Without this check, a machine with no network spends half a minute in
    ``huggingface_hub``'s retries before saying what one line can say at once.
    """
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                                       "ALL_PROXY", "all_proxy")):
        return True
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
        return True
    except OSError:
        return False


def missing_model_message(name: str, reason: str | None = None) -> str:
    """One line saying which model was tried, why it is not there, and how to point at a copy."""
    if looks_like_path(name):
        path = Path(name).expanduser()
        if not path.exists():
            why = "the path does not exist"
        else:
            why = "the directory holds no loadable model (config.json, tokenizer and weights)"
        return (f"cannot load hf model {name!r}: {why}; pass --model with a directory saved by "
                f"save_pretrained or `huggingface-cli download NAME --local-dir DIR`")
    why = reason or "it is not in the local Hugging Face cache and the hub is unreachable"
    return f"cannot load hf model {name!r}: {why}; " + _LOCAL_HINT.format(name=name)


def pick_dtype(device: str) -> Any:
    """bfloat16 on a CUDA GPU that supports it, float32 elsewhere (T5 overflows in float16)."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


class HFBackend(Backend):
    """Greedy, length-batched generation with a local ``transformers`` model."""

    name = "hf"

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int = 16,
                 **_: Any) -> None:
        super().__init__(model or DEFAULT_MODEL)
        self.requested_device = device
        self.batch_size = max(1, int(batch_size))
        self.device: str | None = None
        self.dtype: str | None = None
        self.encoder_decoder: bool | None = None
        self.chat_template = False
        self._tok: Any = None
        self._model: Any = None
        self._gen_config: Any = None

    # -- description --------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        return {"decoding": "greedy"}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["batch_size"] = self.batch_size
        if self.device is not None:  # loaded (now or before close())
            d.update(device=self.device, dtype=self.dtype, chat_template=self.chat_template,
                     architecture="encoder-decoder" if self.encoder_decoder else "decoder-only")
        return d

    # -- loading ------------------------------------------------------------------------------
    @property
    def tokenizer(self) -> Any:
        self._load()
        return self._tok

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        quiet_transformers()
        name = self.model
        source = str(Path(name).expanduser()) if looks_like_path(name) else name
        if looks_like_path(name) and not Path(source).exists():
            raise FatalBackendError(missing_model_message(name))
        device = check_device(self.requested_device)
        config, tok, local_only = self._find(source, AutoConfig, AutoTokenizer)
        self.encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
        dtype = pick_dtype(device)
        cls = AutoModelForSeq2SeqLM if self.encoder_decoder else AutoModelForCausalLM
        try:
            model = cls.from_pretrained(source, dtype=dtype, local_files_only=local_only)
        except (OSError, ValueError, ImportError) as exc:
            raise FatalBackendError(missing_model_message(
                name, f"its weights could not be loaded ({type(exc).__name__})")) from None
        model.to(device).train(False)  # inference mode: no dropout
        # Decoder-only models continue from the end of the prompt, so padding must go left.
        tok.padding_side = "right" if self.encoder_decoder else "left"
        if tok.pad_token is None:
            if tok.eos_token is None:
                raise UsageError(f"hf model {name!r}: its tokenizer has neither a pad nor an eos token")
            tok.pad_token = tok.eos_token
        self.chat_template = (not self.encoder_decoder) and bool(getattr(tok, "chat_template", None))
        gen = copy.deepcopy(model.generation_config)
        # Greedy: clear sampling settings a model's own generation config may carry.
        gen.do_sample = False
        gen.num_beams = 1
        for attr in ("temperature", "top_p", "top_k", "typical_p", "min_p"):
            if hasattr(gen, attr):
                setattr(gen, attr, None)
        gen.pad_token_id = tok.pad_token_id
        if gen.eos_token_id is None:
            gen.eos_token_id = tok.eos_token_id
        self._tok, self._model, self._gen_config = tok, model, gen
        self.device, self.dtype = device, str(dtype).replace("torch.", "")

    def _find(self, source: str, config_cls: Any, tok_cls: Any) -> tuple[Any, Any, bool]:
        """(config, tokenizer, whether to stay offline): the local cache first, then the hub."""
        name = self.model
        try:  # a local directory, or a hub model already in the local cache: no network at all
            return (config_cls.from_pretrained(source, local_files_only=True),
                    tok_cls.from_pretrained(source, local_files_only=True), True)
        except (OSError, ValueError, ImportError) as exc:
            if looks_like_path(name):
                detail = " ".join(str(exc).split())[:160]
                raise FatalBackendError(f"{missing_model_message(name)} ({type(exc).__name__}: "
                                        f"{detail})") from None
        if hf_offline():
            raise FatalBackendError(missing_model_message(
                name, "it is not in the local Hugging Face cache and the hub is off "
                      "(HF_HUB_OFFLINE is set)")) from None
        if not hub_reachable():
            raise FatalBackendError(missing_model_message(
                name, "it is not in the local Hugging Face cache and the hub is unreachable "
                      "(no network)")) from None
        try:
            return config_cls.from_pretrained(source), tok_cls.from_pretrained(source), False
        except (OSError, ValueError, ImportError) as exc:
            raise FatalBackendError(missing_model_message(
                name, f"the hub has no such model, or it refused the download "
                      f"({type(exc).__name__})")) from None

    # -- generation ---------------------------------------------------------------------------
    def prompt_text(self, prompt: str) -> str:
        """The text fed to the model: the prompt, inside the chat template when there is one."""
        if not self.chat_template:
            return prompt
        return self._tok.apply_chat_template([{"role": "user", "content": prompt}],
                                             tokenize=False, add_generation_prompt=True)

    def encode_prompts(self, requests: Sequence[Request]) -> list[list[int]]:
        """Token ids per prompt (special tokens from the chat template, else the tokenizer's own)."""
        self._load()
        texts = [self.prompt_text(r.prompt) for r in requests]
        return list(self._tok(texts, add_special_tokens=not self.chat_template)["input_ids"])

    def plan_batches(self, lengths: Sequence[int], max_tokens: Sequence[int]) -> list[list[int]]:
        """Indices grouped into batches: same ``max_tokens``, similar length, longest first.

        Longest first, so a batch too large for the GPU fails at the start of a
        run rather than at its end.
        """
        order = sorted(range(len(lengths)), key=lambda i: (max_tokens[i], -lengths[i], i))
        batches: list[list[int]] = []
        for i in order:
            if batches and len(batches[-1]) < self.batch_size and \
                    max_tokens[batches[-1][0]] == max_tokens[i]:
                batches[-1].append(i)
            else:
                batches.append([i])
        return batches

    def _generate_batch(self, ids: list[list[int]], max_new_tokens: int) -> list[tuple[str, int, int]]:
        """(answer, prompt tokens, completion tokens) per prompt; splits the batch on GPU OOM."""
        import torch

        try:
            enc = self._tok.pad({"input_ids": ids}, padding=True, return_tensors="pt")
            enc = {k: v.to(self.device) for k, v in enc.items()}
            gen = copy.copy(self._gen_config)
            gen.max_new_tokens = max_new_tokens
            with torch.inference_mode():
                out = self._model.generate(**enc, generation_config=gen)
        except torch.OutOfMemoryError:
            if len(ids) == 1:
                raise FatalBackendError(
                    f"out of memory on {self.device} for a single prompt with {self.model!r}; "
                    f"use a smaller model, --max-chars, or --device cpu") from None
            if self.device and self.device.startswith("cuda"):
                torch.cuda.empty_cache()
            half = len(ids) // 2
            self.stats["oom_splits"] = self.stats.get("oom_splits", 0) + 1
            return (self._generate_batch(ids[:half], max_new_tokens)
                    + self._generate_batch(ids[half:], max_new_tokens))
        if not self.encoder_decoder:
            out = out[:, enc["input_ids"].shape[1]:]  # the continuation only
        eos = self._gen_config.eos_token_id
        stop = {self._tok.pad_token_id, *(eos if isinstance(eos, (list, tuple)) else [eos])}
        start_id = getattr(self._model.config, "decoder_start_token_id", None)
        results: list[tuple[str, int, int]] = []
        for row, prompt_ids in zip(out.tolist(), ids):
            if self.encoder_decoder and row and row[0] == start_id:
                row = row[1:]
            n = next((k for k, t in enumerate(row) if t in stop), len(row))
            text = self._tok.decode(row[:n], skip_special_tokens=True).strip()
            results.append((text, len(prompt_ids), n))
        return results

    def generate(self, requests: Sequence[Request], on_result: OnResult) -> None:
        """Generate in length-sorted batches; report each answer as its batch finishes."""
        if not requests:
            return
        ids = self.encode_prompts(requests)
        max_tokens = [max(1, int(r.max_tokens)) for r in requests]
        for batch in self.plan_batches([len(x) for x in ids], max_tokens):
            t0 = time.perf_counter()
            answers = self._generate_batch([ids[i] for i in batch], max_tokens[batch[0]])
            per_item = (time.perf_counter() - t0) / len(batch)
            for i, (text, n_prompt, n_completion) in zip(batch, answers):
                on_result(i, Response(text, usage={"prompt_tokens": n_prompt,
                                                   "completion_tokens": n_completion},
                                      seconds=per_item))

    def close(self) -> None:
        if self._model is not None:
            on_cuda = bool(self.device and self.device.startswith("cuda"))
            self._model = None
            self._tok = None
            if on_cuda:
                import torch

                torch.cuda.empty_cache()
