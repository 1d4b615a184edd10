"""Model backends: in-process transformers (batched) and any OpenAI-compatible server.

Both take a list of `Request`s and return one string per request, in order.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from PIL import Image
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from generation.families import Family, by_model_type, family_for
from mindkb.errors import BadInput, BadOption, MindError, literal

if TYPE_CHECKING:
    import torch

    from generation.fastpath import FastOptions, Processor

log = logging.getLogger(__name__)


@dataclass
class Request:
    prompt: str
    images: list[Image.Image] = field(default_factory=list)


@dataclass(frozen=True)
class Decoding:
    """The paper's decoding: sampling at temperature 0.2; stored as provenance on every result."""

    max_new_tokens: int
    temperature: float = 0.2
    top_p: float = 1.0
    seed: int = 0
    min_new_tokens: int = 0  # > 0 only for benchmarks (a fixed output length)

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "do_sample": self.do_sample}, sort_keys=True)


class Backend(Protocol):
    model_id: str

    def generate(self, requests: Sequence[Request], decoding: Decoding) -> list[str]: ...

    def close(self) -> None: ...


# --- transformers ---------------------------------------------------------------------------


def pick_device(device: str) -> str:
    import torch

    if device in ("", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    return device


def pick_dtype(dtype: str, device: str) -> torch.dtype | str:
    import torch

    if dtype in ("", "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32
    table = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
             "float16": torch.float16, "fp32": torch.float32, "float32": torch.float32}
    if dtype not in table:
        raise BadInput(f"unknown --dtype {dtype!r}; use auto, bf16, fp16 or fp32")
    return table[dtype]


COMPILE_CHOICES = ("auto", "on", "off")


def resolve_compile(mode: str, device: str, batch_size: int, quantized: bool = False,
                    auto_batch: bool = False) -> tuple[bool, bool]:
    """(fast path, torch.compile) for a --compile value.

    on: the fast path, its decode step compiled on CUDA (elsewhere it runs eagerly: compiling
    for the CPU costs more than it saves). auto: the same on CUDA for batches of 8 or more (or a
    batch sized to the memory), else the plain path. off: `model.generate`. static: the fast path
    without torch.compile (tests, comparisons). A quantized model always takes the plain path.
    """
    if mode not in (*COMPILE_CHOICES, "static"):
        raise BadOption(f"{{compile}} must be one of {', '.join(COMPILE_CHOICES)}, not {literal(repr(mode))}")
    cuda = device.startswith("cuda")
    if quantized or mode == "off":
        return False, False
    if mode == "static":
        return True, False
    if mode == "on":
        return True, cuda
    return (True, True) if cuda and (auto_batch or batch_size >= 8) else (False, False)


class _FirstLogits:
    """A no-op logits processor that notes when `generate` has the prefill's logits."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.at: float | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.at is None:
            from generation.fastpath import sync

            sync(self.device)
            self.at = time.perf_counter()
        return scores


class TransformersBackend:
    """An image-text-to-text model in this process (LLaVA-1.5 by default): prompts in the processor's
    own chat format, left padding, batches of similar length, no autograd.

    With the fast path (`compile`, generation/fastpath.py) batches run through static KV caches in
    a few shapes with shared prompt prefixes prefilled once; otherwise through `model.generate`. A
    family the fast path cannot run (generation/families.py) always takes `model.generate`, and the
    summary says why (`no_fast_path`).
    """

    def __init__(self, model: Any, processor: Processor, model_id: str, batch_size: int = 8,  # noqa: ANN401
                 compile: str = "off", fast_options: FastOptions | None = None, quantized: bool = False,
                 family: Family | None = None) -> None:
        from generation.fastpath import FastGenerator, FastOptions, Stats

        self.model = model
        self.processor = processor
        self.model_id = model_id
        self.family = family or by_model_type(getattr(model.config, "model_type", None))
        self.batch_size = batch_size
        self.processor.tokenizer.padding_side = "left"
        if self.processor.tokenizer.pad_token is None:
            self.processor.tokenizer.pad_token = self.processor.tokenizer.eos_token
        options = fast_options or FastOptions()
        fast, compiled = resolve_compile(compile, str(model.device), batch_size, quantized, options.auto_batch)
        self.no_fast_path = ""
        if fast and not self.family.fast_path:
            fast, compiled = False, False
            self.no_fast_path = f"{self.family.name}: {self.family.no_fast_path}"
            log.info("fast path: not for %s; batches take model.generate", self.no_fast_path)
        self.compile_mode = compile
        self.fast = None
        self.plain_stats = Stats(path="plain")
        if fast:
            options.compiled = compiled
            self.fast = FastGenerator(model, processor, options, batch_size)
            self.batch_size = self.fast.batch_size

    @classmethod
    def load(cls, model_id: str, device: str = "auto", dtype: str = "auto", quantize: str | None = None,
             batch_size: int = 8, compile: str = "off", fast_options: FastOptions | None = None,
             ) -> TransformersBackend:
        """Any image-text-to-text checkpoint (a hub id or a folder) through the Auto classes."""
        from transformers import AutoModelForImageTextToText, AutoProcessor

        device = pick_device(device)
        torch_dtype = pick_dtype(dtype, device)
        kwargs: dict = {"dtype": torch_dtype}
        if quantize:
            try:
                import bitsandbytes  # noqa: F401
            except ImportError:
                raise BadOption(f"{{quantize}} {quantize} needs bitsandbytes (pip install bitsandbytes)") from None
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=quantize == "4bit", load_in_8bit=quantize == "8bit",
                bnb_4bit_compute_dtype=torch_dtype,
            )
            kwargs["device_map"] = {"": device}
        try:
            processor = AutoProcessor.from_pretrained(model_id)
            model = AutoModelForImageTextToText.from_pretrained(model_id, **kwargs)
        except OSError as exc:
            raise MindError(f"cannot load model {model_id!r}: {str(exc).splitlines()[0]}") from None
        except ValueError as exc:  # a config that no image-text-to-text class takes
            raise MindError(f"model {model_id!r} is not an image-text-to-text checkpoint: "
                            f"{str(exc).splitlines()[0]}") from None
        if not quantize:
            model = model.to(device)  # type: ignore[arg-type]  # transformers' wrapped `to` hides its device parameter
        model.eval()
        return cls(model, processor, model_id, batch_size, compile=compile, fast_options=fast_options,
                   quantized=bool(quantize))

    def render(self, request: Request) -> str:
        content = [{"type": "image"} for _ in request.images] + [{"type": "text", "text": request.prompt}]
        return self.processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )

    def generate(self, requests: Sequence[Request], decoding: Decoding) -> list[str]:
        texts = [self.render(r) for r in requests]
        if self.fast is not None and texts:
            from generation.fastpath import Unsupported

            try:
                return self.fast.generate(texts, [r.images for r in requests], decoding)
            except Unsupported as exc:
                log.info("fast path: %s; this call takes model.generate", exc)
                self.fast.stats.fallback_batches += 1
        # Sort by length so that each batch pads little; answers go back in the caller's order.
        order = sorted(range(len(requests)), key=lambda i: (len(requests[i].images), len(texts[i])))
        out: list[str] = [""] * len(requests)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            answers = self._generate_batch([texts[i] for i in idx], [requests[i].images for i in idx], decoding)
            for i, answer in zip(idx, answers, strict=True):
                out[i] = answer
        return out

    def _generate_batch(self, texts: list[str], images: list[list[Image.Image]], decoding: Decoding) -> list[str]:
        import torch

        flat = [img for imgs in images for img in imgs]
        counts = {len(imgs) for imgs in images}
        if flat and counts == {0}:
            flat = []
        if flat and 0 in counts:
            # Mixed text-only and image requests cannot share pixel_values: split the batch.
            with_img = [i for i, imgs in enumerate(images) if imgs]
            without = [i for i, imgs in enumerate(images) if not imgs]
            res = [""] * len(texts)
            for part in (with_img, without):
                for i, a in zip(part, self._generate_batch([texts[j] for j in part], [images[j] for j in part], decoding),
                                strict=True):
                    res[i] = a
            return res
        pixels = (images if self.family.nested_images else flat) if flat else None
        inputs = self.processor(images=pixels, text=texts, padding=True, return_tensors="pt")
        if not self.family.token_type_ids:
            inputs.pop("token_type_ids", None)
        inputs = inputs.to(self.model.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        gen_kwargs = dict(
            max_new_tokens=decoding.max_new_tokens,
            do_sample=decoding.do_sample,
            pad_token_id=self.processor.tokenizer.pad_token_id,
        )
        if decoding.do_sample:
            gen_kwargs.update(temperature=decoding.temperature, top_p=decoding.top_p)
        if decoding.min_new_tokens:
            gen_kwargs["min_new_tokens"] = decoding.min_new_tokens
        from transformers import LogitsProcessorList

        from generation.fastpath import count_new_tokens, sync

        first = _FirstLogits(self.model.device)
        torch.manual_seed(decoding.seed)
        started = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(**inputs, **gen_kwargs, logits_processor=LogitsProcessorList([first]))
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        sync(self.model.device)
        ended = time.perf_counter()
        st = self.plain_stats
        st.batches += 1
        st.requests += len(texts)
        st.rows += len(texts)
        st.prompt_tokens += int(inputs["attention_mask"].sum())
        st.prefilled_tokens += int(inputs["attention_mask"].sum())
        st.prefill_s += (first.at or ended) - started
        st.decode_s += ended - (first.at or ended)
        st.decode_steps += max(0, new_tokens.shape[1] - 1)
        st.decode_row_steps += max(0, new_tokens.shape[1] - 1) * len(texts)
        eos = self.model.generation_config.eos_token_id
        st.new_tokens += count_new_tokens(new_tokens.cpu(), [eos] if isinstance(eos, int) else list(eos or []))
        return [t.strip() for t in self.processor.batch_decode(new_tokens, skip_special_tokens=True)]

    def take_stats(self) -> dict:
        """What the model did since the last call (both paths), with peak GPU memory; then reset."""
        import torch

        from generation.fastpath import Stats

        out: dict = {"compile": self.compile_mode, "path": "fast" if self.fast else "plain",
                     "batch_size": self.batch_size, "device": str(self.model.device), "family": self.family.name}
        if self.no_fast_path:
            out["no_fast_path"] = self.no_fast_path
        if self.fast is not None:
            fast = self.fast.stats
            out["fast"] = fast.as_dict()
            out["compiled"] = fast.compiled
            if self.fast.memory is not None:
                out["memory_plan"] = self.fast.memory.as_dict()
            if self.fast.arena is not None:
                out["kv_arena_gib"] = round(self.fast.arena.nbytes / 2**30, 3)
            if fast.compiled:  # graphs compiled so far in this process: a rise during a timed run is a recompile
                from torch._dynamo.utils import counters

                out["dynamo_graphs"] = int(counters["stats"]["unique_graphs"])
            self.fast.stats = Stats(compiled=fast.compiled)
        if self.plain_stats.batches:
            out["plain"] = self.plain_stats.as_dict()
        self.plain_stats = Stats(path="plain")
        if self.model.device.type == "cuda":
            out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(self.model.device) / 2**30, 3)
            torch.cuda.reset_peak_memory_stats(self.model.device)
        return out

    def close(self) -> None:
        if self.fast is not None:
            self.fast.close()


# --- OpenAI-compatible servers ---------------------------------------------------------------


def image_data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class RetryableHTTP(Exception):
    """429, 5xx or a timeout: worth another try after a pause."""


def _event_stream_text(text: str) -> str:
    """The content of a streamed chat completion (server-sent events of `chat.completion.chunk`s).

    `transformers serve` answers /v1/chat/completions as a stream whatever `stream` says; a failure
    after the stream began comes as a `{"error": ...}` event.
    """
    parts = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            break
        try:
            event = json.loads(data)
        except ValueError:
            raise MindError(f"unexpected event from the server: {data[:200]}") from None
        if not isinstance(event, dict):
            raise MindError(f"unexpected event from the server: {data[:200]}")
        if "error" in event:
            raise MindError(f"the server failed: {str(event['error'])[:200]}")
        for choice in event.get("choices") or []:
            parts.append((choice.get("delta") or {}).get("content") or "")
    return "".join(parts)


class OpenAIBackend:
    """Chat completions with images as data URLs; `concurrency` requests in flight, retried.

    A pair's images go as the served model's family takes them (generation/families.py): one
    stacked image, or two images in order.
    """

    def __init__(self, base_url: str, model_id: str, api_key: str | None = None, concurrency: int = 16,
                 timeout: float = 300.0, max_attempts: int = 6, backoff_max: float = 30.0):
        if not base_url:
            raise BadOption("{backend} openai needs {base_url} (e.g. http://localhost:8000/v1)")
        self.model_id = model_id
        self.family = family_for(model_id)
        self.concurrency = max(1, concurrency)
        self.max_attempts = max_attempts
        self.backoff_max = backoff_max
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout,
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="mind-openai")

    def payload(self, request: Request, decoding: Decoding) -> dict:
        content = [{"type": "image_url", "image_url": {"url": image_data_url(img)}} for img in request.images]
        content.append({"type": "text", "text": request.prompt})
        body = {
            "model": self.model_id,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "seed": decoding.seed,
        }
        if decoding.min_new_tokens:
            body["min_tokens"] = decoding.min_new_tokens  # a vLLM extension
        return body

    def _post(self, body: dict) -> str:
        try:
            response = self.client.post("chat/completions", json=body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableHTTP(f"{type(exc).__name__}: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableHTTP(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise MindError(f"the server refused the request: HTTP {response.status_code} {response.text[:200]}")
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return _event_stream_text(response.text)
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise MindError(f"unexpected answer from the server: {response.text[:200]}") from None

    def _one(self, request: Request, decoding: Decoding) -> str:
        body = self.payload(request, decoding)
        for attempt in Retrying(
            retry=retry_if_exception_type(RetryableHTTP),
            wait=wait_random_exponential(multiplier=0.5, max=self.backoff_max),
            stop=stop_after_attempt(self.max_attempts),
            reraise=True,
        ):
            with attempt:
                return self._post(body).strip()
        raise AssertionError("unreachable")

    def generate(self, requests: Sequence[Request], decoding: Decoding) -> list[str]:
        try:
            return list(self.pool.map(lambda r: self._one(r, decoding), requests))
        except RetryableHTTP as exc:
            raise MindError(f"the server kept failing after {self.max_attempts} attempts: {exc}") from None

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()
