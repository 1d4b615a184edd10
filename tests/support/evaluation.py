"""Helpers for the eval-area tests: a known graph, dev-file excerpts, a tiny causal LM, a fake
OpenAI-compatible server (a test double for the remote service only)."""

from __future__ import annotations

import json
from pathlib import Path

from graph.driver import write
from graph.intentions import merge_intentions
from graph.products import merge_co_buys, merge_products
from mindkb.ids import intention_id, pair_key
from tests.support.chat_server import ChatServer


def seed_graph(driver, database: str, products: dict[str, str], intentions: list[tuple]) -> list[dict]:
    """products: asin -> title; intentions: (asinA, asinB, relation, status, text). Pairs get CO_BUY."""
    write(driver, database, merge_products, [{"asin": a, "props": {"title": t}} for a, t in products.items()])
    pairs = sorted({pair_key(a, b) for a, b, *_ in intentions})
    write(driver, database, merge_co_buys, [{"a": a, "b": b, "source": "test"} for a, b in pairs])
    rows = [{"id": intention_id(a, b, rel, "test", "v1", text), "asinA": a, "asinB": b, "relation": rel,
             "props": {"text": text, "status": status, "model": "test", "promptVersion": "v1", "source": "mind"}}
            for a, b, rel, status, text in intentions]
    write(driver, database, merge_intentions, rows)
    return rows


def dev_lines(path: Path, pairs: int) -> list[str]:
    """The dev file's lines for its first `pairs` co-buy pairs (the file is grouped by pair)."""
    out, seen = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        key = (d["item_a_id"], d["item_b_id"])
        if key not in seen:
            if len(seen) == pairs:
                break
            seen.append(key)
        out.append(line)
    return out


def build_tiny_causal_lm(folder: Path, words: str) -> Path:
    """A 2-layer randomly initialised Llama with a word-level tokenizer trained here (offline)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from tokenizers.trainers import WordLevelTrainer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    core = Tokenizer(WordLevel(unk_token="<unk>"))
    core.normalizer = normalizers.NFKC()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.train_from_iterator([words, "A B C D . ( ) :"], WordLevelTrainer(special_tokens=["<unk>", "<s>", "</s>", "<pad>"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                  pad_token="<pad>")
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    import torch

    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


class LetterServer(ChatServer):
    """/v1/chat/completions answering `answers[i % len(answers)]` to the i-th request."""

    def __init__(self, answers: list[str]):
        super().__init__(lambda body: answers[(self.calls - 1) % len(answers)])
