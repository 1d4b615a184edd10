"""Product images: found in a local folder or downloaded into a content-addressed cache, and
always verified with Pillow before a product is marked `ok`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class ImageResult:
    state: str  # 'ok' | 'missing' | 'unreadable'
    path: str | None = None
    reason: str | None = None

    def props(self) -> dict:
        return {"imageState": self.state, "imagePath": self.path, "imageReason": self.reason}


def verify_image(path: Path, max_pixels: int) -> ImageResult:
    """Decodes the whole image and converts it to RGB; refuses decompression bombs."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                return ImageResult("unreadable", str(path),
                                   f"image too large: {width}x{height} pixels (limit {max_pixels})")
            image.load()
            image.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        return ImageResult("unreadable", str(path), f"not a decodable image: {exc}")
    except (OSError, ValueError, SyntaxError) as exc:
        return ImageResult("unreadable", str(path), f"image cannot be decoded: {exc}")
    return ImageResult("ok", str(path.resolve()), None)


def find_local_image(images_dir: Path, asin: str) -> Path | None:
    """`DIR/ASIN.jpg|.jpeg|.png|.webp` (any case of suffix), else the first image in `DIR/ASIN/`."""
    for suffix in IMAGE_SUFFIXES:
        for candidate in (images_dir / f"{asin}{suffix}", images_dir / f"{asin}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    folder = images_dir / asin
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if files:
            return files[0]
    return None


class DownloadError(Exception):
    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class ImageCache:
    """Content-addressed: blobs/<sha256[:2]>/<sha256><suffix>, plus urls/<sha256(url)> -> blob name,
    so a URL fetched once is never fetched again and identical images are stored once.
    """

    def __init__(self, root: Path, client: httpx.Client, max_bytes: int, retries: int):
        self.root = root
        self.client = client
        self.max_bytes = max_bytes
        self.retries = retries
        self.downloads = 0
        self.hits = 0

    def _url_entry(self, url: str) -> Path:
        return self.root / "urls" / hashlib.sha256(url.encode("utf-8")).hexdigest()

    def cached(self, url: str) -> Path | None:
        entry = self._url_entry(url)
        try:
            blob = self.root / "blobs" / entry.read_text().strip()
        except OSError:
            return None
        return blob if blob.is_file() else None

    def fetch(self, url: str) -> Path:
        """The cached file for `url`, downloading it (with retries and back-off) when absent."""
        hit = self.cached(url)
        if hit is not None:
            self.hits += 1
            return hit
        fetch_once = retry(
            retry=retry_if_exception(lambda e: isinstance(e, DownloadError) and e.retryable),
            stop=stop_after_attempt(self.retries),
            wait=wait_exponential(multiplier=0.2, max=5),
            reraise=True,
        )(self._download)
        data = fetch_once(url)
        self.downloads += 1
        digest = hashlib.sha256(data).hexdigest()
        suffix = Path(httpx.URL(url).path).suffix.lower()
        name = f"{digest[:2]}/{digest}{suffix if suffix in IMAGE_SUFFIXES else ''}"
        blob = self.root / "blobs" / name
        if not blob.is_file():
            _atomic_write(blob, data)
        _atomic_write(self._url_entry(url), name.encode())
        return blob

    def _download(self, url: str) -> bytes:
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code >= 500 or response.status_code == 429:
                    raise DownloadError(f"HTTP {response.status_code}", retryable=True)
                if response.status_code != 200:
                    raise DownloadError(f"HTTP {response.status_code}", retryable=False)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise DownloadError(f"larger than {self.max_bytes} bytes", retryable=False)
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise DownloadError(f"larger than {self.max_bytes} bytes", retryable=False)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise DownloadError(f"{type(exc).__name__}: {exc}", retryable=True) from None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class ImageResolver:
    """Finds, downloads and verifies one product's image; safe to call from worker threads."""

    max_pixels: int
    images_dir: Path | None = None
    cache: ImageCache | None = None

    def resolve(self, asin: str, urls: list[str]) -> ImageResult:
        if self.images_dir is not None:
            local = find_local_image(self.images_dir, asin)
            if local is not None:
                return verify_image(local, self.max_pixels)
        if self.cache is not None and urls:
            reasons, last_bad = [], None
            for url in urls:
                try:
                    path = self.cache.fetch(url)
                except DownloadError as exc:
                    reasons.append(f"{url}: {exc}")
                    continue
                result = verify_image(path, self.max_pixels)
                if result.state == "ok":
                    return result
                last_bad = result
                reasons.append(f"{url}: {result.reason}")
            reason = "; ".join(reasons)[:1000]
            if last_bad is not None:  # something arrived but it is not a usable image
                return ImageResult("unreadable", last_bad.path, reason)
            return ImageResult("missing", None, f"download failed: {reason}")
        if self.images_dir is None and self.cache is None:
            return ImageResult("missing", None, "no image source given (--images-dir or --download-images)")
        return ImageResult("missing", None, "no image file and no image URL")
