"""A tiny randomly initialised LLaVA checkpoint: real code paths, noise output, a few hundred KB.

Everything is built offline: a word-level tokenizer trained here on the prompts' own words, a
CLIP image processor at 32 px, a 2-layer CLIP vision tower and a 2-layer Llama. It is saved with
`save_pretrained`, so it loads back through `AutoProcessor` / `LlavaForConditionalGeneration`
exactly like `llava-hf/llava-1.5-13b-hf`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generation.prompts import PROMPTS
from mindkb.relations import RELATIONS

if TYPE_CHECKING:
    from transformers import LlavaConfig, LlavaProcessor, PreTrainedTokenizerFast

# Written into the checkpoint's config.json: whatever runs it knows its output is noise.
RANDOM_WEIGHTS_KEY = "mind_random_weights"
IMAGE_TOKEN = "<image>"
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", IMAGE_TOKEN]

# LLaVA-1.5's chat format, as in llava-hf's processors: "USER: <image>\n... ASSISTANT:".
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] != 'system' %}{{ message['role'].upper() + ': ' }}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' ' }}{% endfor %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

_EXTRA_WORDS = (
    "yes no because the a an and or of to in for with on is are be it this that these those they "
    "both product products person people buy buying purchase customer would could can will "
    "intention potential co-buy user assistant design quality features use uses useful good bad "
    "black white red blue green small large light heavy cable phone case shoe shirt watch camera "
    "charger battery bag dress ring lens audio speaker laptop screen home travel gift sport style "
    "comfort protect protection durable cheap expensive together simultaneously encourage reason"
)


@dataclass(frozen=True)
class TinySpec:
    """Sizes of the tiny model (also used, scaled, by the benchmark)."""

    image_size: int = 32
    patch_size: int = 8
    vision_hidden: int = 32
    vision_layers: int = 2
    vision_heads: int = 2
    text_hidden: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_intermediate: int = 128
    max_positions: int = 4096


def _corpus() -> list[str]:
    lines = [PROMPTS.features, PROMPTS.intention, PROMPTS.filter, _EXTRA_WORDS]
    lines += [r.template for r in RELATIONS if r.template]
    lines += [r.name for r in RELATIONS]
    lines.append(" ".join(str(i) for i in range(100)))
    lines.append(". , : ; ! ? ' \" ( ) - / & % $ # + = * { } [ ]")
    return lines


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A lowercase word-level tokenizer with the `<image>` token, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from tokenizers.trainers import WordLevelTrainer
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(WordLevel(unk_token="<unk>"))
    core.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces, tidies punctuation
    core.train_from_iterator(_corpus(), WordLevelTrainer(special_tokens=SPECIALS, min_frequency=1))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
        padding_side="left",
        model_max_length=4096,
        model_input_names=["input_ids", "attention_mask"],
    )
    tok.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    return tok


def build_processor(tokenizer: PreTrainedTokenizerFast, image_size: int, patch_size: int) -> LlavaProcessor:
    from transformers import CLIPImageProcessor, LlavaProcessor

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
    )
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )


def build_config(tokenizer: PreTrainedTokenizerFast, spec: TinySpec, vocab_size: int | None = None) -> LlavaConfig:
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vision = CLIPVisionConfig(
        hidden_size=spec.vision_hidden,
        intermediate_size=spec.vision_hidden * 4,
        num_hidden_layers=spec.vision_layers,
        num_attention_heads=spec.vision_heads,
        image_size=spec.image_size,
        patch_size=spec.patch_size,
        projection_dim=spec.vision_hidden,
    )
    text = LlamaConfig(
        vocab_size=vocab_size or len(tokenizer),
        hidden_size=spec.text_hidden,
        intermediate_size=spec.text_intermediate,
        num_hidden_layers=spec.text_layers,
        num_attention_heads=spec.text_heads,
        num_key_value_heads=spec.text_heads,
        max_position_embeddings=spec.max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
        pad_token_id=tokenizer.pad_token_id,
    )


def random_weights(model: str) -> bool:
    """True when `model` is a local checkpoint marked as randomly initialised (`mind model tiny`):
    what it writes is stored as noise (`noise: true`), which search and recommend leave out."""
    try:
        config = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get(RANDOM_WEIGHTS_KEY) is True


def write_tiny_model(out_dir: Path, seed: int = 0, spec: TinySpec | None = None) -> dict:
    """Write the checkpoint (config, weights, tokenizer, processor, chat template) to `out_dir`."""
    import torch
    from transformers import GenerationConfig, LlavaForConditionalGeneration

    spec = spec or TinySpec()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    processor = build_processor(tokenizer, spec.image_size, spec.patch_size)
    model = LlavaForConditionalGeneration(build_config(tokenizer, spec)).eval()
    setattr(model.config, RANDOM_WEIGHTS_KEY, True)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    size = sum(f.stat().st_size for f in out_dir.rglob("*") if f.is_file())
    return {
        "path": str(out_dir),
        "parameters": sum(p.numel() for p in model.parameters()),
        "bytes": size,
        "vocab": len(tokenizer),
        "note": "random weights: this model's output is noise, for smoke runs and tests only",
    }
