"""The openai backend's handling of faults, against an in-test chat-completions server that answers
with the tiny LLaVA: overload and server errors (503, 429, 500) retried, and giving up after the
retries. A real server does not produce these on demand, so they are staged here; the backend
against a real OpenAI-compatible server is tests/generation/test_transformers_serve.py."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from generation.backends import Decoding, OpenAIBackend, Request, TransformersBackend
from generation.stage import StageOptions
from generation.stages import run_stage
from tests.support.chat_server import ChatServer
from tests.support.generation import build_tiny, rows, seed_catalog


class TinyServer(ChatServer):
    """/v1/chat/completions served by the tiny model; the first `fail_first` calls answer 503."""

    def __init__(self, backend: TransformersBackend, fail_first: int = 0):
        self.backend, self.fail_left = backend, fail_first
        super().__init__(self._answer)

    def _answer(self, body: dict) -> str | int:  # called under the server's lock
        if self.fail_left > 0:
            self.fail_left -= 1
            return 503
        content = body["messages"][0]["content"]
        images = [Image.open(io.BytesIO(base64.b64decode(c["image_url"]["url"].split(",", 1)[1])))
                  for c in content if c["type"] == "image_url"]
        text = " ".join(c["text"] for c in content if c["type"] == "text")
        return self.backend.generate(
            [Request(text, images)], Decoding(max_new_tokens=body["max_tokens"], seed=body["seed"]))[0]


@pytest.fixture(scope="module")
def tiny_backend(tmp_path_factory):
    folder = build_tiny(tmp_path_factory.mktemp("tiny-llava-openai"))
    return TransformersBackend.load(str(folder), device="cpu", batch_size=4)


def test_openai_backend_runs_every_stage(empty_graph, settings, tiny_backend, tmp_path):
    db = settings.neo4j_database
    seed_catalog(empty_graph, db, tmp_path, n=4, pairs=[(0, 1), (2, 3)])
    with TinyServer(tiny_backend, fail_first=2) as server:
        client = OpenAIBackend(server.url, "llava-hf/llava-1.5-13b-hf", api_key="k", concurrency=4,
                               backoff_max=0.2)
        dec = {s: Decoding(max_new_tokens=5, seed=1) for s in ("features", "intentions", "filter")}
        opts = StageOptions(relations=["UsedFor", "Can"], batch_size=8, lease_seconds=60, decoding=dec)
        done = [run_stage(empty_graph, db, client, opts, s).done for s in ("features", "intentions", "filter")]
        client.close()
    assert done == [4, 4, 4]
    assert server.calls == 12 + 2               # two 503s were retried
    features_call = server.bodies[-1]
    assert features_call["temperature"] == 0.2 and features_call["model"] == "llava-hf/llava-1.5-13b-hf"
    image_parts = [c for c in server.bodies[-1]["messages"][0]["content"] if c["type"] == "image_url"]
    assert len(image_parts) == 1 and image_parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    stacked = Image.open(io.BytesIO(base64.b64decode(image_parts[0]["image_url"]["url"].split(",", 1)[1])))
    assert stacked.size == (48, 40 + 20 + 40)  # the filter sees both products stacked
    got = rows(empty_graph, db, "MATCH (i:Intention) RETURN i.model AS m, i.status AS s")
    assert len(got) == 4 and all(r["m"] == "llava-hf/llava-1.5-13b-hf" and r["s"] != "GENERATED" for r in got)


def test_openai_backend_gives_up_after_retries(tiny_backend):
    from mindkb.errors import MindError

    with TinyServer(tiny_backend, fail_first=100) as server:
        client = OpenAIBackend(server.url, "m", max_attempts=3, backoff_max=0.05)
        with pytest.raises(MindError, match="kept failing"):
            client.generate([Request("hi")], Decoding(max_new_tokens=2))
        client.close()
    assert server.calls == 3


def test_openai_backend_retries_429_and_500(tiny_backend):
    statuses = [429, 500]

    def answer(body: dict) -> str | int:
        return statuses.pop(0) if statuses else "yes, a good pair"

    with ChatServer(answer) as server:
        client = OpenAIBackend(server.url, "m", max_attempts=3, backoff_max=0.05)
        assert client.generate([Request("hi")], Decoding(max_new_tokens=2)) == ["yes, a good pair"]
        client.close()
    assert server.calls == 3
