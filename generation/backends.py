"""Model backends: in-process transformers (batched) and any OpenAI-compatible server.

Both take a list of `Request`s and return one string per request, in order.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Protocol

import httpx
from PIL import Image
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from mindkb.errors import BadInput, BadOption, MindError


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


def pick_dtype(dtype: str, device: str):
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


class TransformersBackend:
    """LLaVA in this process: left padding, batches of similar length, `torch.inference_mode`."""

    def __init__(self, model, processor, model_id: str, batch_size: int = 8):
        self.model = model
        self.processor = processor
        self.model_id = model_id
        self.batch_size = batch_size
        self.processor.tokenizer.padding_side = "left"
        if self.processor.tokenizer.pad_token is None:
            self.processor.tokenizer.pad_token = self.processor.tokenizer.eos_token

    @classmethod
    def load(cls, model_id: str, device: str = "auto", dtype: str = "auto", quantize: str | None = None,
             batch_size: int = 8) -> "TransformersBackend":
        from transformers import AutoProcessor, LlavaForConditionalGeneration

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
            model = LlavaForConditionalGeneration.from_pretrained(model_id, **kwargs)
        except OSError as exc:
            raise MindError(f"cannot load model {model_id!r}: {str(exc).splitlines()[0]}") from None
        if not quantize:
            model = model.to(device)
        model.eval()
        return cls(model, processor, model_id, batch_size)

    def render(self, request: Request) -> str:
        content = [{"type": "image"} for _ in request.images] + [{"type": "text", "text": request.prompt}]
        return self.processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
        )

    def generate(self, requests: Sequence[Request], decoding: Decoding) -> list[str]:
        texts = [self.render(r) for r in requests]
        # Sort by length so that each batch pads little; answers go back in the caller's order.
        order = sorted(range(len(requests)), key=lambda i: (len(requests[i].images), len(texts[i])))
        out: list[str] = [""] * len(requests)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            answers = self._generate_batch([texts[i] for i in idx], [requests[i].images for i in idx], decoding)
            for i, answer in zip(idx, answers):
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
                for i, a in zip(part, self._generate_batch([texts[j] for j in part], [images[j] for j in part], decoding)):
                    res[i] = a
            return res
        inputs = self.processor(images=flat or None, text=texts, padding=True, return_tensors="pt")
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
        torch.manual_seed(decoding.seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **gen_kwargs)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return [t.strip() for t in self.processor.batch_decode(new_tokens, skip_special_tokens=True)]

    def close(self) -> None:
        pass


# --- OpenAI-compatible servers ---------------------------------------------------------------


def image_data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class RetryableHTTP(Exception):
    """429, 5xx or a timeout: worth another try after a pause."""


class OpenAIBackend:
    """Chat completions with images as data URLs; `concurrency` requests in flight, retried."""

    def __init__(self, base_url: str, model_id: str, api_key: str | None = None, concurrency: int = 16,
                 timeout: float = 300.0, max_attempts: int = 6, backoff_max: float = 30.0):
        if not base_url:
            raise BadOption("{backend} openai needs {base_url} (e.g. http://localhost:8000/v1)")
        self.model_id = model_id
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
