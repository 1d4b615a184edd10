"""Public releases of intention knowledge (ingest/releases.json): fetched once into the cache, each
file checked against its published size and sha256, then imported like a local file.

A release is pinned to one commit, so its files never change: a file in the cache whose checksum
matches is used as it is, anything else is fetched again. A download goes to a temporary file
beside its final name and is renamed only after its checksum matched, so the cache never holds a
partial or altered file. The base URL can point at a mirror (`--base-url`, MIND_RELEASE_BASE_URL),
also `file://` for a copy on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
from neo4j import Driver

from ingest.intentions import ImportOptions, import_intentions
from mindkb.errors import BadInput, MindError
from mindkb.output import progress
from mindkb.quarantine import Quarantine
from mindkb.settings import Settings

MANIFEST = Path(__file__).with_name("releases.json")
CHUNK = 1 << 16
SCHEMES = ("https://", "http://", "file://")


@dataclass(frozen=True)
class ReleaseFile:
    path: str  # below the release's base URL
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Release:
    name: str
    title: str
    repository: str
    license: str
    commit: str
    base_url: str
    format: str
    files: tuple[ReleaseFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def releases() -> dict[str, Release]:
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {name: Release(name=name, files=tuple(ReleaseFile(**f) for f in entry.pop("files")), **entry)
            for name, entry in data.items()}


RELEASES = tuple(releases())


def get_release(name: str) -> Release:
    known = releases()
    if name not in known:
        raise BadInput(f"unknown release {name!r}; known: {', '.join(known)}")
    return known[name]


@dataclass
class Fetched:
    paths: list[Path]
    downloaded: int = 0
    cached: int = 0


def cache_folder(settings: Settings, release: Release) -> Path:
    return settings.cache_dir / "releases" / release.name / release.commit


def base_url_of(release: Release, settings: Settings, base_url: str | None = None) -> str:
    url = (base_url or settings.release_base_url or release.base_url).rstrip("/")
    if not url.startswith(SCHEMES):
        raise BadInput(f"release base URL {url[:200]!r} must start with {', '.join(SCHEMES)}")
    return url


def fetch_release(release: Release, settings: Settings, base_url: str | None = None) -> Fetched:
    """The release's files in the cache, downloading those missing; MindError (one line) when one
    cannot be fetched or does not match its checksum (nothing of it is kept)."""
    folder = cache_folder(settings, release)
    base = base_url_of(release, settings, base_url)
    result = Fetched(paths=[folder / f.name for f in release.files])
    missing = [(f, path) for f, path in zip(release.files, result.paths, strict=True) if not _matches(path, f)]
    result.cached = len(release.files) - len(missing)
    if not missing:
        return result
    folder.mkdir(parents=True, exist_ok=True)
    timeout = httpx.Timeout(settings.release_download_timeout, connect=min(10.0, settings.release_download_timeout))
    with httpx.Client(mounts={"file://": FileTransport()}, timeout=timeout, follow_redirects=True,
                      transport=httpx.HTTPTransport(retries=2)) as client, \
            progress(total=sum(f.size for f, _ in missing), desc=f"download {release.name}", unit="B",
                     unit_scale=True) as bar:
        for f, path in missing:
            _download(client, f"{base}/{f.path}", f, path, bar.update)
            result.downloaded += 1
    return result


def _matches(path: Path, f: ReleaseFile) -> bool:
    if not path.is_file() or path.stat().st_size != f.size:
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == f.sha256


def _download(client: httpx.Client, url: str, f: ReleaseFile, path: Path, advance: Callable[[int], object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{f.name}.", suffix=".part")
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(client, url):
                size += len(chunk)
                if size > f.size:
                    raise MindError(f"{url}: larger than the published {f.size:,} bytes; the download is refused "
                                    "and nothing is kept")
                digest.update(chunk)
                out.write(chunk)
                advance(len(chunk))
        if size != f.size or digest.hexdigest() != f.sha256:
            raise MindError(f"{url}: checksum mismatch ({size:,} bytes, sha256 {digest.hexdigest()[:16]}..., "
                            f"published {f.size:,} bytes, {f.sha256[:16]}...); the download is refused and "
                            "nothing is kept")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _chunks(client: httpx.Client, url: str) -> Iterator[bytes]:
    # A Request built here keeps a host-less file:/// URL absolute (client.stream() would not).
    try:
        response = client.send(httpx.Request("GET", url), stream=True)
        try:
            if response.status_code >= 400:
                raise MindError(f"cannot download {url}: HTTP {response.status_code}")
            yield from response.iter_bytes(CHUNK)
        finally:
            response.close()
    except httpx.TransportError as exc:
        hint = " (offline, or the host is blocked?)" if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) else ""
        raise MindError(f"cannot download {url}: {type(exc).__name__}: {str(exc) or 'no answer'}{hint}") from None


class FileTransport(httpx.BaseTransport):
    """file:// URLs for httpx: a release mirrored on disk is read like a download."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = Path(request.url.path)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return httpx.Response(404, request=request)
        except PermissionError:
            return httpx.Response(403, request=request)
        return httpx.Response(200, stream=_FileStream(handle), request=request)


class _FileStream(httpx.SyncByteStream):
    def __init__(self, handle: BinaryIO):
        self._handle = handle

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._handle.read(CHUNK):
            yield chunk

    def close(self) -> None:
        self._handle.close()


def import_release(driver: Driver, settings: Settings, release: Release, fetched: Fetched, quarantine: Quarantine,
                   options: ImportOptions | None = None) -> dict:
    """The fetched files of the release, imported as one stream."""
    summary = import_intentions(driver, settings, fetched.paths, release.format, quarantine, options=options)
    return {**fetch_summary(release, fetched), **summary}


def fetch_summary(release: Release, fetched: Fetched) -> dict:
    return {"release": release.name, "commit": release.commit, "license": release.license,
            "files": len(fetched.paths), "downloaded": fetched.downloaded, "cached": fetched.cached,
            "folder": str(fetched.paths[0].parent) if fetched.paths else None}
