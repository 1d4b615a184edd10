"""A sentence model run from its ONNX export with `tokenizers` and ONNX Runtime only: no torch.

The `serve` install (API, import, `mind embed` on the CPU) has no torch, transformers or
sentence-transformers, so it runs the export that the full install makes into
`<cache_dir>/onnx/<model>/` (`python -m embedding.export_onnx`). It repeats what
sentence-transformers does for a Transformer -> Pooling(mean) -> Normalize model such as
all-MiniLM-L6-v2: texts stripped, the model's tokenizer.json truncating at the model's
`max_seq_length` and padding to the longest text of a batch, the attention-masked mean of the
token vectors, then unit length. Its `encode` takes sentence-transformers' arguments, so
`TextEncoder` holds either kind of model.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mindkb.errors import MindError

# Pooling modes this encoder repeats; an export configured otherwise is refused with one line.
_MEAN = "pooling_mode_mean_tokens"
_OTHER_MODES = ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


class OnnxSentenceModel:
    """One ONNX Runtime session on the CPU plus the model's tokenizer and pooling settings."""

    def __init__(self, folder: Path, file_name: str, threads: int = 0) -> None:
        # Imported here: only the ONNX backends need them, and each costs a fraction of a second.
        import onnxruntime
        from tokenizers import Tokenizer

        model_file = folder / file_name
        if not model_file.is_file() or not (folder / "tokenizer.json").is_file():
            raise MindError(f"ONNX export in {folder} is incomplete (no {file_name} or tokenizer.json): remove the "
                            "folder and run `python -m embedding.export_onnx` with the full install")
        config = _read_json(folder / "sentence_bert_config.json")
        pooling = _read_json(folder / "1_Pooling" / "config.json")
        if not pooling.get(_MEAN, True) or any(pooling.get(mode) for mode in _OTHER_MODES):
            raise MindError(f"ONNX export in {folder} uses a pooling other than the mean, which this encoder "
                            "does not run: set MIND_EMBEDDING_BACKEND=torch with the full install")
        self.max_length = int(config.get("max_seq_length") or 512)
        self.lower_case = bool(config.get("do_lower_case", False))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # tokenizer.json carries the hub's fixed padding and truncation; sentence-transformers replaces
        # both on every call with "the longest text of the batch" and the model's max_seq_length.
        pad = self.tokenizer.padding or {}
        self.tokenizer.enable_padding(pad_id=int(pad.get("pad_id", 0)), pad_type_id=int(pad.get("pad_type_id", 0)),
                                      pad_token=str(pad.get("pad_token", "[PAD]")), direction="right")
        self.tokenizer.enable_truncation(max_length=self.max_length, strategy="longest_first", direction="right")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(0, threads)
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        self.session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.dimension = int(pooling.get("word_embedding_dimension") or self.session.get_outputs()[0].shape[-1])

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts: Sequence[str], batch_size: int = 32, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        """float32 vectors, one row per text, in order (longer texts batched together, as sentence-transformers
        does, so that little padding is computed). `convert_to_numpy` and `show_progress_bar` are accepted for
        sentence-transformers' signature: the result is always an array and nothing is printed."""
        texts = [str(t).strip() for t in texts]
        if self.lower_case:
            texts = [t.lower() for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = max(1, batch_size)
        for start in range(0, len(order), step):
            rows = order[start:start + step]
            out[rows] = self._encode_batch([texts[i] for i in rows], normalize_embeddings)
        return out

    def _encode_batch(self, texts: list[str], normalize: bool) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        tokens = self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if normalize:  # torch.nn.functional.normalize: x / max(||x||, 1e-12)
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise MindError(f"cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def cuda_device_present() -> bool:
    """Whether torch would find a CUDA device, answered without importing torch where it is not loaded:
    no torch installed means no torch backend to move to, and otherwise the CUDA driver is asked."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return bool(torch.cuda.is_available())
    if "torch" in sys.modules or importlib.util.find_spec("torch") is None:
        return False
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
