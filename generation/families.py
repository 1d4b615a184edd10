"""What differs between vision-language model families, declared once per family.

A family is found from a checkpoint's `model_type` (its config.json), or, for a model that only a
server knows, from its name. Everything else about a model (its chat format, its image
preprocessing, its image-token expansion) comes from the checkpoint's own processor.

What a family declares:
- `max_images`: how many images one prompt may carry;
- `pair_images`: how a co-buy pair's two product images reach the model: `stacked` (the paper's
  layout: one image, A above B, for models that see one image) or `separate` (two images in one
  prompt, A then B); stored with every intention and verdict as `pairImages`;
- `image_token`: the placeholder its processor expands into image features;
- `nested_images`: whether the processor wants a batch's images grouped per prompt;
- `token_type_ids`: whether the model reads the processor's token types (Gemma 3 attends
  bidirectionally inside an image);
- `fast_path`: whether generation/fastpath.py can run it (one image placeholder expanded in place,
  1-D positions, `pixel_values` only), and if not, why (recorded in the run's summary).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

STACKED = "stacked"
SEPARATE = "separate"

# The pair prompts name the images by their place in the stack; with two images, by their order.
_PAIR_WORDS = {"the upper image": "the first image", "the lower image": "the second image"}


@dataclass(frozen=True)
class Family:
    name: str
    model_types: tuple[str, ...]
    max_images: int = 1
    pair_images: str = STACKED
    image_token: str = "<image>"
    nested_images: bool = False
    token_type_ids: bool = False
    fast_path: bool = False
    no_fast_path: str = "not tried with this family"

    def __post_init__(self) -> None:
        if self.pair_images not in (STACKED, SEPARATE):
            raise ValueError(f"pair_images must be {STACKED!r} or {SEPARATE!r}, not {self.pair_images!r}")
        if self.pair_images == SEPARATE and self.max_images < 2:
            raise ValueError(f"{self.name}: separate pair images need max_images >= 2")

    def pair_prompt(self, prompt: str) -> str:
        """A pair prompt as this family's images are laid out (the paper's text when stacked)."""
        if self.pair_images == STACKED:
            return prompt
        for old, new in _PAIR_WORDS.items():
            prompt = prompt.replace(old, new)
        return prompt


LLAVA = Family("llava", ("llava",), max_images=1, pair_images=STACKED, image_token="<image>", fast_path=True,
               no_fast_path="")
IDEFICS3 = Family("idefics3", ("idefics3", "smolvlm"), max_images=8, pair_images=SEPARATE, image_token="<image>",
                  nested_images=True,
                  no_fast_path="its processor wraps each image in marker tokens and it needs pixel_attention_mask")
GEMMA3 = Family("gemma3", ("gemma3",), max_images=8, pair_images=SEPARATE, image_token="<start_of_image>",
                nested_images=True, token_type_ids=True,
                no_fast_path="its image tokens attend to each other both ways (token_type_ids)")
# Qwen2-VL and Qwen2.5-VL: each image becomes patches plus an `image_grid_thw` row from the processor,
# which `generate()` takes as is; a pair's images may differ in size, and so in image tokens.
QWEN2_VL = Family("qwen2-vl", ("qwen2_vl", "qwen2_5_vl"), max_images=8, pair_images=SEPARATE,
                  image_token="<|image_pad|>", nested_images=True,
                  no_fast_path="its rotary positions are 3-D and depend on each image's grid")
# Any other image-text-to-text checkpoint: one image per prompt, the paper's stacked pair, generate().
GENERIC = Family("generic", ())

FAMILIES = (LLAVA, IDEFICS3, GEMMA3, QWEN2_VL)

# Served models are known by name only: the Hugging Face ids of each family's checkpoints.
_NAME_PATTERNS = (
    (re.compile(r"llava-1\.5|llava-v1\.5|bakllava", re.I), LLAVA),
    (re.compile(r"idefics3|smolvlm", re.I), IDEFICS3),
    (re.compile(r"gemma-?3", re.I), GEMMA3),
    (re.compile(r"qwen2(\.5)?-vl", re.I), QWEN2_VL),
)


def by_model_type(model_type: str | None) -> Family:
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    return GENERIC


def family_for(model: str) -> Family:
    """The family of a local checkpoint (its config's model_type) or of a model named on a hub or a server;
    anything else is generic: one image per prompt, the paper's stacked pair, which any model can read."""
    config = Path(model) / "config.json"
    if config.is_file():
        try:
            model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            model_type = None
        return by_model_type(model_type)
    for pattern, family in _NAME_PATTERNS:
        if pattern.search(model):
            return family
    return GENERIC
