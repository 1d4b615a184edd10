"""Image states for `mind ingest catalog`: local folders, downloads from a local server, the cache."""

from __future__ import annotations

import http.server
import io
import threading

import pytest
from PIL import Image

from tests.support.ingest import draw, product, props, quarantined, write_lines


def test_images_dir_files_folders_unreadable_and_missing(empty_graph, settings, cli, tmp_path):
    images = tmp_path / "images"
    draw(images / "E0001.jpg", fmt="JPEG")
    draw(images / "E0002.webp", fmt="WEBP")
    draw(images / "E0003" / "b_side.png")
    draw(images / "E0003" / "a_front.png")
    (images / "E0004.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated, not an image")
    draw(images / "E0006.png", size=(400, 400))  # larger than the pixel cap set below
    catalog = write_lines(tmp_path / "c.jsonl", [product(f"E000{i}") for i in range(1, 7)])
    q = tmp_path / "q.jsonl"
    r = cli("ingest", "catalog", str(catalog), "--images-dir", str(images), "--quarantine", str(q), "--json",
            env={"MIND_IMAGE_MAX_PIXELS": "100000"})
    assert r.returncode == 0, r.stderr
    assert r.summary["loaded"] == 6
    assert r.summary["images"] == {"ok": 3, "missing": 1, "unreadable": 2}
    got = props(empty_graph, settings, *[f"E000{i}" for i in range(1, 7)])
    assert [got[f"E000{i}"]["imageState"] for i in range(1, 7)] == ["ok", "ok", "ok", "unreadable", "missing", "unreadable"]
    assert got["E0001"]["imagePath"].endswith("E0001.jpg")
    assert got["E0003"]["imagePath"].endswith("a_front.png")  # the first image of the folder
    assert "too large" in got["E0006"]["imageReason"]
    assert got["E0004"]["imageReason"]
    reasons = {e["line"]: e["reason"] for e in quarantined(q)}
    assert set(reasons) == {4, 6} and all(r.startswith("unreadable image") for r in reasons.values())

    # A re-run without --images-dir keeps the images found; --require-image quarantines the rest.
    r = cli("ingest", "catalog", str(catalog), "--json")
    assert props(empty_graph, settings, "E0001")["E0001"]["imageState"] == "ok"
    q2 = tmp_path / "q2.jsonl"
    r = cli("ingest", "catalog", str(catalog), "--images-dir", str(images), "--require-image",
            "--quarantine", str(q2), "--json", env={"MIND_IMAGE_MAX_PIXELS": "100000"})
    assert r.returncode == 0, r.stderr
    assert r.summary["loaded"] == 3 and r.summary["quarantined"] == 3
    assert all("--require-image" in e["reason"] for e in quarantined(q2))


class _Server:
    """A local HTTP server on 127.0.0.1 that counts requests per path."""

    def __init__(self, routes: dict[str, tuple[int, bytes]]):
        self.hits: dict[str, int] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                status, body = routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def image_server():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 120, 200)).save(buffer, format="PNG")
    server = _Server({
        "/hi/F1.png": (200, buffer.getvalue()),
        "/lo/F2.png": (200, buffer.getvalue()),
        "/bad/F3.png": (200, b"this is not an image at all"),
        "/big/F5.png": (200, b"x" * 5000),
        "/flaky/F6.png": (503, b"busy"),
    })
    yield server
    server.close()


def test_download_into_content_addressed_cache(empty_graph, settings, cli, tmp_path, image_server):
    base = image_server.base
    catalog = write_lines(tmp_path / "c.jsonl", [
        product("F1", imageURLHighRes=[f"{base}/hi/F1.png"], imageURL=[f"{base}/lo/never.png"]),
        product("F2", imageURLHighRes=[f"{base}/gone/F2.png"], imageURL=[f"{base}/lo/F2.png"]),
        product("F3", imageURL=[f"{base}/bad/F3.png"]),
        product("F4"),
        product("F5", imageURL=[f"{base}/big/F5.png"]),
        product("F6", imageURL=[f"{base}/flaky/F6.png"]),
    ])
    cache = tmp_path / "cache"
    env = {"MIND_CACHE_DIR": str(cache), "MIND_IMAGE_MAX_BYTES": "4096", "MIND_IMAGE_DOWNLOAD_RETRIES": "2"}
    q = tmp_path / "q.jsonl"
    r = cli("ingest", "catalog", str(catalog), "--download-images", "--quarantine", str(q), "--json", env=env)
    assert r.returncode == 0, r.stderr
    got = props(empty_graph, settings, "F1", "F2", "F3", "F4", "F5", "F6")
    states = {asin: p["imageState"] for asin, p in got.items()}
    assert states == {"F1": "ok", "F2": "ok", "F3": "unreadable", "F4": "missing", "F5": "missing", "F6": "missing"}
    assert got["F1"]["imagePath"].startswith(str(cache))
    assert got["F1"]["imagePath"] == got["F2"]["imagePath"]  # same bytes, one blob
    assert "larger than 4096 bytes" in got["F5"]["imageReason"]
    assert "503" in got["F6"]["imageReason"]
    assert image_server.hits.get("/lo/never.png") is None  # the high-res image came first
    assert image_server.hits["/flaky/F6.png"] == 2  # retried, then given up
    assert image_server.hits["/hi/F1.png"] == 1

    r = cli("ingest", "catalog", str(catalog), "--download-images", "--quarantine", str(q), "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert image_server.hits["/hi/F1.png"] == 1 and image_server.hits["/lo/F2.png"] == 1  # cache hits
    assert props(empty_graph, settings, "F1")["F1"]["imageState"] == "ok"


def test_bundled_sample_with_drawn_images(empty_graph, settings, cli, tmp_path):
    import subprocess
    import sys

    from tests.support.ingest import counts
    from tests.support.paths import REPO

    drawn = subprocess.run([sys.executable, "-m", "ingest.sample_images", str(tmp_path / "img")], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert drawn.returncode == 0, drawn.stderr
    catalog = REPO / "ingest" / "sample" / "catalog.jsonl"
    lines = [line for line in catalog.read_text(encoding="utf-8").splitlines() if line.strip()]
    r = cli("ingest", "catalog", str(catalog), "--images-dir", str(tmp_path / "img"), "--json")
    assert r.returncode == 0, r.stderr
    assert r.summary["loaded"] == len(lines) and r.summary["quarantined"] == 0
    assert r.summary["images"]["ok"] == len(lines)
    after = counts(empty_graph, settings)
    assert after["pending"] == 0 and after["co_buy"] == r.summary["co_buy"] >= len(lines)
