"""Product images: loading, and the paper's vertical stack (A above B, a 20 px black bar)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

BAR_PX = 20
MAX_SIDE = 2048  # images are downscaled to this before stacking; LLaVA sees 336 px anyway


class ImageError(Exception):
    """An image file that is missing or cannot be decoded."""


def load_image(path: str | Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            img.load()
            out = img.convert("RGB")
    except FileNotFoundError:
        raise ImageError(f"image file not found: {path}") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"unreadable image {path}: {exc}") from None
    if max(out.size) > MAX_SIDE:
        out.thumbnail((MAX_SIDE, MAX_SIDE))
    return out


def stack_vertical(upper: Image.Image, lower: Image.Image, bar: int = BAR_PX) -> Image.Image:
    """Upper image, a black bar of `bar` px, lower image; width is the wider one, black padding."""
    width = max(upper.width, lower.width)
    canvas = Image.new("RGB", (width, upper.height + bar + lower.height), (0, 0, 0))
    canvas.paste(upper.convert("RGB"), (0, 0))
    canvas.paste(lower.convert("RGB"), (0, upper.height + bar))
    return canvas
