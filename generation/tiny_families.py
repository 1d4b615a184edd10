"""Tiny random checkpoints of other model families (Idefics3/SmolVLM, Gemma 3, Qwen2-VL, Qwen2.5-VL),
built offline.

As generation/tiny.py does for LLaVA: the prompts' word-level tokenizer (with each family's image and
turn tokens), the family's own image processor at 32 px, a 2-layer vision tower and a 2-layer text
model, saved with `save_pretrained` so that they load back through `AutoProcessor` and
`AutoModelForImageTextToText` like the released checkpoints. Their output is noise; the config
carries the random-weights mark.

The Qwen processors carry a video processor too (it needs torchvision); the pipeline sends it nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from generation.tiny import RANDOM_WEIGHTS_KEY, TinySpec, build_tokenizer

Tokenizer = Any  # a transformers fast tokenizer: its class differs per family

# Idefics3's chat format ("User:<image> text<end_of_utterance>\nAssistant:"), as in its checkpoints.
IDEFICS3_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ ' ' + line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
# Gemma 3's ("<start_of_turn>user\n<start_of_image>text<end_of_turn>\n<start_of_turn>model\n").
GEMMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<start_of_image>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}{% endfor %}"
    "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

# Qwen2-VL's ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>text<|im_end|>\n<|im_start|>assistant\n").
QWEN2_VL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}"
    "{{ '<|vision_start|><|image_pad|><|vision_end|>' }}{% elif item['type'] == 'text' %}{{ item['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)
QWEN_SPECIALS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


def _tokenizer(specials: list[str], cls_name: str = "PreTrainedTokenizerFast", **kwargs: object) -> Tokenizer:
    """The tiny LLaVA's word-level vocabulary with a family's special tokens added (in the tokenizer
    class the family's processor loads back)."""
    import transformers

    tok = getattr(transformers, cls_name)(
        tokenizer_object=build_tokenizer().backend_tokenizer,
        unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        padding_side="left", model_max_length=4096, model_input_names=["input_ids", "attention_mask"],
        **kwargs,
    )
    tok.add_special_tokens({"additional_special_tokens": specials})
    return tok


def _text_config(tok: Tokenizer, spec: TinySpec) -> dict:
    return dict(vocab_size=len(tok), hidden_size=spec.text_hidden, intermediate_size=spec.text_intermediate,
                num_hidden_layers=spec.text_layers, num_attention_heads=spec.text_heads,
                num_key_value_heads=spec.text_heads, max_position_embeddings=spec.max_positions,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)


def _vision_config(spec: TinySpec) -> dict:
    return dict(hidden_size=spec.vision_hidden, intermediate_size=spec.vision_hidden * 2,
                num_hidden_layers=spec.vision_layers, num_attention_heads=spec.vision_heads,
                image_size=spec.image_size, patch_size=spec.patch_size)


def _idefics3(spec: TinySpec) -> tuple:
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor, Idefics3Processor

    tok = _tokenizer(["<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"])
    scale = 2  # pixel shuffle: (32 / 8)^2 patches -> 4 image tokens
    images = Idefics3ImageProcessor(do_image_splitting=False, size={"longest_edge": spec.image_size},
                                    max_image_size={"longest_edge": spec.image_size})
    processor = Idefics3Processor(image_processor=images, tokenizer=tok, chat_template=IDEFICS3_TEMPLATE,
                                  image_seq_len=(spec.image_size // spec.patch_size) ** 2 // scale**2)
    config = Idefics3Config(vision_config=_vision_config(spec), text_config={"model_type": "llama",
                            **_text_config(tok, spec)}, scale_factor=scale,
                            image_token_id=tok.convert_tokens_to_ids("<image>"), pad_token_id=tok.pad_token_id)
    return tok, processor, Idefics3ForConditionalGeneration(config)


def _gemma3(spec: TinySpec) -> tuple:
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor, Gemma3Processor

    tok = _tokenizer(["<start_of_image>", "<end_of_image>", "<image_soft_token>", "<start_of_turn>", "<end_of_turn>"],
                     extra_special_tokens={"image_token": "<image_soft_token>", "boi_token": "<start_of_image>",
                                           "eoi_token": "<end_of_image>"})
    per_image = 4  # soft tokens per image (the pooled 4x4 patches of a 32 px image)
    images = Gemma3ImageProcessor(size={"height": spec.image_size, "width": spec.image_size}, do_pan_and_scan=False)
    processor = Gemma3Processor(image_processor=images, tokenizer=tok, image_seq_length=per_image,
                                chat_template=GEMMA3_TEMPLATE)
    text = {**_text_config(tok, spec), "head_dim": spec.text_hidden // spec.text_heads, "sliding_window": 64}
    config = Gemma3Config(vision_config=_vision_config(spec), text_config=text, mm_tokens_per_image=per_image,
                          image_token_index=tok.convert_tokens_to_ids("<image_soft_token>"),
                          boi_token_index=tok.convert_tokens_to_ids("<start_of_image>"),
                          eoi_token_index=tok.convert_tokens_to_ids("<end_of_image>"))
    return tok, processor, Gemma3ForConditionalGeneration(config)


def _qwen_parts(spec: TinySpec) -> tuple:
    """A Qwen2-VL-style tokenizer and processor: 8 px patches merged 2x2, images resized to 32-48 px
    (4 to 9 image tokens each; the image grid travels as image_grid_thw)."""
    from transformers import (  # type: ignore[attr-defined]  # the video processor is a lazy export the stubs miss
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tok = _tokenizer(QWEN_SPECIALS, "Qwen2TokenizerFast")
    sizes: dict[str, Any] = dict(patch_size=spec.patch_size, merge_size=2, temporal_patch_size=2,
                 min_pixels=spec.image_size**2, max_pixels=(spec.image_size * 3 // 2) ** 2)
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(**sizes),
                                 video_processor=Qwen2VLVideoProcessor(**sizes), tokenizer=tok,
                                 chat_template=QWEN2_VL_TEMPLATE)
    return tok, processor


def _qwen_ids(tok: Tokenizer) -> dict:
    ids = tok.convert_tokens_to_ids
    return dict(image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
                vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))


def _qwen_text(tok: Tokenizer, spec: TinySpec) -> dict:
    half = spec.text_hidden // spec.text_heads // 2  # multimodal rotary: temporal, height, width sections
    return {**_text_config(tok, spec), "rope_scaling": {"type": "mrope", "mrope_section": [half - 2 * (half // 4),
                                                                                         half // 4, half // 4]}}


def _qwen2_vl(spec: TinySpec) -> tuple:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    tok, processor = _qwen_parts(spec)
    vision = dict(depth=spec.vision_layers, embed_dim=spec.vision_hidden, hidden_size=spec.text_hidden, mlp_ratio=2,
                  num_heads=spec.vision_heads, patch_size=spec.patch_size, spatial_merge_size=2, temporal_patch_size=2)
    config = Qwen2VLConfig(text_config=_qwen_text(tok, spec), vision_config=vision, **_qwen_ids(tok))
    return tok, processor, Qwen2VLForConditionalGeneration(config)


def _qwen2_5_vl(spec: TinySpec) -> tuple:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok, processor = _qwen_parts(spec)
    vision = dict(depth=spec.vision_layers, hidden_size=spec.vision_hidden, intermediate_size=spec.vision_hidden * 2,
                  num_heads=spec.vision_heads, patch_size=spec.patch_size, spatial_merge_size=2, temporal_patch_size=2,
                  window_size=spec.patch_size * 4, fullatt_block_indexes=[spec.vision_layers - 1],
                  out_hidden_size=spec.text_hidden)
    config = Qwen2_5_VLConfig(text_config=_qwen_text(tok, spec), vision_config=vision, **_qwen_ids(tok))
    return tok, processor, Qwen2_5_VLForConditionalGeneration(config)


BUILDERS: dict[str, Callable[[TinySpec], tuple]] = {"idefics3": _idefics3, "gemma3": _gemma3, "qwen2-vl": _qwen2_vl,
                                                    "qwen2.5-vl": _qwen2_5_vl}


def write_tiny_family(family: str, out_dir: Path, seed: int = 0, spec: TinySpec | None = None) -> dict:
    """Write a tiny random checkpoint of `family` (one of BUILDERS) to `out_dir`."""
    import torch
    from transformers import GenerationConfig

    if family not in BUILDERS:
        raise ValueError(f"no tiny {family!r}; families: {', '.join(BUILDERS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tok, processor, model = BUILDERS[family](spec or TinySpec())
    model.eval()
    setattr(model.config, RANDOM_WEIGHTS_KEY, True)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return {"path": str(out_dir), "family": family, "parameters": sum(p.numel() for p in model.parameters()),
            "note": "random weights: this model's output is noise, for smoke runs and tests only"}
