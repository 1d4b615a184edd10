"""The paper's three prompts (its Table 4) as versioned templates.

The version is stored on every result (`featuresPromptVersion`, `promptVersion`,
`filterPromptVersion`), so a changed prompt never mixes silently with the old one's results:
edit a template -> bump `version`.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DESCRIPTION_CHARS = 1500
MAX_FEATURES_CHARS = 3000


@dataclass(frozen=True)
class PromptSet:
    version: str
    features: str
    features_description: str
    intention: str
    filter: str


PROMPTS = PromptSet(
    version="mind-v1",
    features=(
        "The image contains a product and name of it is {name}. Please analyze the product image, "
        "together with the product name, provide a detailed description focusing on the product's "
        "features, design, and apparent quality. Highlight any unique characteristics or visible "
        "elements that distinguish this product from similar items. Additionally, speculate on the "
        "potential uses and benefits of this product for a consumer, based on its appearance or any "
        "information in the image and the name."
    ),
    features_description=" The seller's description of the product is: {description}",
    intention=(
        "The two images are two different products. The product name of the upper image is {name_a}. "
        "The product detail and the potential purchase intention is {features_a}. The product name of "
        "the lower image is {name_b}. The product detail and the potential purchase intention is "
        "{features_b}. Based on information provided, together with the product images, what could be "
        "the potential intention for people buying these two products in one purchase simultaneously "
        "based on the relation of {template}, take the image features into consideration, limit your "
        "word count within 120 words. Start with the potential co-buy intention could be {template}"
    ),
    filter=(
        "The two images are two different products. The product name of the upper image is {name_a}. "
        "The product detail and the potential purchase intention is {features_a}. The product name of "
        "the lower image is {name_b}. The product detail and the potential purchase intention is "
        "{features_b}. Under the relation of {template}, the potential co-buy intention would be "
        "{intention}. If you are a consumer who are eager to buy product a or product b, would this "
        "intention encourage you to buy the two products simultaneously? be critical on your choice, "
        "output yes or no together with the reason for your answer. For example, the output should be "
        "Yes, ... or No, ..."
    ),
)
PROMPT_VERSION = PROMPTS.version


def _clip(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def features_prompt(name: str, description: str | None = None) -> str:
    out = PROMPTS.features.format(name=_clip(name, 300))
    if description and description.strip():
        out += PROMPTS.features_description.format(description=_clip(description, MAX_DESCRIPTION_CHARS))
    return out


def intention_prompt(name_a: str, features_a: str, name_b: str, features_b: str, template: str) -> str:
    return PROMPTS.intention.format(
        name_a=_clip(name_a, 300), features_a=_clip(features_a, MAX_FEATURES_CHARS),
        name_b=_clip(name_b, 300), features_b=_clip(features_b, MAX_FEATURES_CHARS), template=template,
    ).rstrip()


def filter_prompt(name_a: str, features_a: str, name_b: str, features_b: str, template: str,
                  intention: str) -> str:
    return PROMPTS.filter.format(
        name_a=_clip(name_a, 300), features_a=_clip(features_a, MAX_FEATURES_CHARS),
        name_b=_clip(name_b, 300), features_b=_clip(features_b, MAX_FEATURES_CHARS),
        template=template or "an open-ended intention", intention=_clip(intention, 1500),
    )
