"""TextEncoder: the one place texts become vectors (unit length, so cosine is a dot product).

`mind embed`, the API's query path and the evaluation all encode through it, with the same
flags, so a vector stored by one is comparable with a vector computed by another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embedding.models import load_sentence_model
from mindkb.errors import MindError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from embedding.onnx_encoder import OnnxSentenceModel



class TextEncoder:
    """A sentence model with an optional LRU cache of `cache` texts (0: none).

    The cache lets a repeated API query, or an evaluation text met in many questions, cost one
    encode; `encode` batches whatever is not cached in one model call.
    """

    def __init__(self, model: SentenceTransformer | OnnxSentenceModel, name: str, batch_size: int = 64, cache: int = 0) -> None:
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.cache_size = cache
        self.hits = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the API encodes from worker threads

    @classmethod
    def load(cls, name: str, device: str | None = None, batch_size: int = 64, cache: int = 0,
             backend: str = "torch", threads: int = 0, cache_dir: Path | None = None) -> TextEncoder:
        """The model on `backend`; callers pass the settings' `embedding_backend` and `cache_dir` (where
        the ONNX backends' export lives), so every caller encodes alike."""
        return cls(load_sentence_model(name, device, backend, threads, cache_dir), name, batch_size, cache)

    @property
    def dimensions(self) -> int:
        dims = self.model.get_sentence_embedding_dimension()
        if dims is None:
            raise MindError(f"embedding model {self.name!r} does not state its dimensions")
        return int(dims)

    def _model_encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in order."""
        texts = list(texts)
        if not self.cache_size:
            return self._model_encode(texts) if texts else np.zeros((0, self.dimensions), np.float32)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            self.hits += len(texts) - len(missing)
        fresh = dict(zip(missing, self._model_encode(missing), strict=True)) if missing else {}
        with self._lock:
            out = []
            for text in texts:
                vector = fresh.get(text)
                if vector is None:
                    vector = self._cache.get(text)
                    if vector is None:  # evicted by a concurrent caller meanwhile
                        vector = self._model_encode([text])[0]
                else:
                    self._cache[text] = vector
                self._cache.move_to_end(text)
                out.append(vector)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, self.dimensions), np.float32)

    def encode_one(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
