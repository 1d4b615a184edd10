"""The ONNX backends give the torch model's vectors: int8 within cosine 0.99 on varied real texts.

Stored vectors (`mind embed`) and query vectors (the API) may come from different backends, so the
bound is what keeps search and recommend answers the same whichever backend a process runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from embedding.encoder import TextEncoder
from embedding.models import EXPORT_RECORD, ONNX_INT8_FILE, export_onnx, load_sentence_model
from mindkb.errors import BadInput
from mindkb.settings import Settings, get_settings

TEXTS = [
    # short queries, as people type them into search and recommend
    "protect my new phone", "going camping with friends this weekend", "a gift for someone who loves gardening",
    "bake bread for a winter party", "cycling to work in the rain", "play music at a party", "practice yoga at home",
    "make morning coffee at the office", "stay safe running at night", "keep the baby warm", "tent", "usb c cable",
    "cheap headphones", "best laptop for students", "how to clean a cast iron pan", "dog toys for chewing",
    "fix a leaking faucet", "organize my desk", "watch movies in bed", "learn to paint with watercolors",
    "hiking boots waterproof", "charge two phones at once", "back pain office chair", "iPhone 15 Pro Max case",
    "4K HDMI 2.1 cable 3m", "birthday present for a 10 year old", "replace the printer ink", "grill steaks outdoors",
    "écouteurs sans fil pour courir", "kitchen knife set", "noise cancelling for flights", "keep coffee hot",
    # product titles and descriptions, as `mind embed` sees them
    "Four-person waterproof dome tent with rainfly and carry bag",
    "Stainless steel French press coffee maker, 34 oz, double wall insulated, with 4-level filtration system",
    "USB-C to USB-C cable 2m, braided nylon, 100W power delivery fast charging, compatible with MacBook Pro, "
    "iPad Pro, Samsung Galaxy S23 and Pixel 8; durable aluminium connectors tested for 10,000 bends",
    "Mummy sleeping bag for adults, rated to 20F / -6C, lightweight and compressible for backpacking, hiking and "
    "camping, with compression sack. Water-resistant shell and soft brushed polyester lining keep you warm and dry.",
    "Portable camping stove, single burner, butane and propane compatible, piezo ignition, 10,000 BTU output, "
    "includes a hard carrying case. Wind shield and adjustable flame for simmering or a rolling boil.",
    "Wireless earbuds, Bluetooth 5.3, 40 hours playtime with charging case, IPX7 waterproof for sports, running "
    "and the gym, touch controls, built-in microphones for clear calls, deep bass stereo sound.",
    "Yoga mat 6mm thick, non-slip textured surface, eco-friendly TPE, with carrying strap. Ideal for yoga, pilates, "
    "floor exercises and stretching at home or at the studio.",
    "Reflective running vest with LED lights, adjustable straps, rechargeable via USB, high visibility for night "
    "running, cycling and walking the dog.",
    "Tempered glass screen protector for iPhone 15, 9H hardness, case friendly, bubble-free installation frame, "
    "2 pack. Shatter-proof and scratch-resistant, with full HD clarity and touch sensitivity.",
    "Cast iron skillet 12 inch, pre-seasoned, oven safe, for frying, searing, baking and grilling on the stove, "
    "in the oven, on the grill or over a campfire.",
    "Ergonomic office chair with lumbar support, adjustable armrests and headrest, breathable mesh back, 360 "
    "degree swivel, tilt lock; supports up to 300 lbs. Designed for long hours of work at a desk.",
    "LEGO Classic Large Creative Brick Box 10698 building toy set for kids ages 4 and up, 790 pieces in 33 colors, "
    "with windows, eyes and tires, plus a storage box for tidy-up time.",
    "Professional watercolor paint set, 48 colors in a tin case, with 2 water brushes and a sketch pad. Vibrant, "
    "blendable pigments for artists, beginners and kids.",
    "Bluetooth speaker, portable, waterproof IPX7, 24 hours playtime, 360 sound with rich bass, pairs two speakers "
    "for stereo, built-in mic for hands-free calls; for the beach, pool parties, camping and the shower.",
    "Dog chew toys for aggressive chewers, nearly indestructible natural rubber, for large and medium breeds, "
    "dishwasher safe, helps clean teeth.",
    "Garden kneeler and seat, foldable, with two tool pouches, heavy duty steel frame, thick EVA foam pad that "
    "protects your knees while weeding and planting. A great gift for gardeners and grandparents.",
    "Insulated stainless steel water bottle, 32 oz, keeps drinks cold for 24 hours and hot for 12, leak-proof lid, "
    "BPA free, fits most cup holders.",
    "Mechanical keyboard, tenkeyless, hot-swappable switches, RGB backlight, USB-C detachable cable, PBT keycaps; "
    "works with Windows and macOS.",
    "Baby sleep sack, wearable blanket, 100% cotton, 1.0 TOG for all seasons, two-way zipper for easy diaper changes.",
]


@pytest.fixture(scope="module")
def torch_vectors(settings) -> np.ndarray:
    return TextEncoder.load(settings.embedding_model, "cpu", backend="torch").encode(TEXTS)


@pytest.mark.parametrize("backend, bound", [("onnx-int8", 0.99), ("onnx", 0.9999)])
def test_onnx_vectors_match_torch(settings, torch_vectors, backend, bound):
    vectors = TextEncoder.load(settings.embedding_model, "cpu", backend=backend, threads=1,
                               cache_dir=settings.cache_dir).encode(TEXTS)
    cosines = np.sum(vectors * torch_vectors, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= bound, f"{backend}: cosine {cosines[worst]:.4f} on {TEXTS[worst]!r}"


def test_onnx_encoder_returns_unit_vectors(settings):
    encoder = TextEncoder.load(settings.embedding_model, "cpu", cache=8, backend="onnx-int8",
                               cache_dir=settings.cache_dir)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one = encoder.encode_one("stay safe running at night")
    assert len(one) == 384 and abs(float(np.dot(one, one)) - 1.0) < 1e-5
    assert encoder.encode([]).shape == (0, 384)


def test_export_is_made_once_into_the_cache(settings, tmp_path):
    folder = export_onnx(settings.embedding_model, tmp_path)
    assert folder.parent == tmp_path / "onnx" and (folder / EXPORT_RECORD).is_file()
    assert (folder / ONNX_INT8_FILE).stat().st_size < (folder / "onnx/model.onnx").stat().st_size
    assert [p.name for p in (tmp_path / "onnx").iterdir()] == [folder.name]  # no staging folder left
    stamp = (folder / EXPORT_RECORD).stat().st_mtime_ns
    assert export_onnx(settings.embedding_model, tmp_path) == folder
    assert (folder / EXPORT_RECORD).stat().st_mtime_ns == stamp


def test_bad_backends_are_one_line(settings, monkeypatch):
    with pytest.raises(BadInput, match="unknown embedding backend 'tensorrt'"):
        load_sentence_model(settings.embedding_model, "cpu", "tensorrt")
    monkeypatch.setenv("MIND_EMBEDDING_BACKEND", "onnx-fp8")
    get_settings.cache_clear()
    try:
        with pytest.raises(BadInput, match="invalid setting MIND_EMBEDDING_BACKEND") as caught:
            get_settings()
        assert "\n" not in str(caught.value)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert Settings.model_fields["embedding_backend"].default == "onnx-int8"
