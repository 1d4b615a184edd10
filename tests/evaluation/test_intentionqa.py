"""`mind eval intentionqa` in its three modes on a few questions from the dev files."""

from __future__ import annotations

import asyncio
import json

from evaluation.exclusion import build_exclusions
from evaluation.llm_mode import parse_answer
from evaluation.questions import parse_question
from graph.driver import read
from graph.evaluation import intention_ids_for_pairs
from mindkb.ids import named_product_asin, pair_key
from mindkb.text import clean_text
from tests.support.evaluation import LetterServer, build_tiny_causal_lm, dev_lines, seed_graph
from tests.support.paths import shared_file


def task1_file():
    return shared_file("intentionqa/task1.dev.jsonl")


def task2_file():
    return shared_file("intentionqa/task2.dev.jsonl")


def _obvious(gold: str, qid: str) -> dict:
    return {"id": qid, "item_a_id": "X0001", "item_b_id": "X0002", "item_a_name": "USB 3.0 cable for laptops",
            "item_b_name": "USB hub with four ports", "relation": "all",
            "assertion": "PersonX bought A and B because they both are a type of USB computer accessory.",
            "options": {"A": "because they both are a type of USB computer accessory.",
                        "B": "because they could both be worn as a bracelet.",
                        "C": "because they both are used for baking bread.",
                        "D": "because they both are related to the topic of gardening."},
            "gold_ind": gold}


def test_embedding_mode_accuracy_skips_and_quarantine(cli, tmp_path):
    short = _obvious("A", "short")
    del short["options"]["D"]
    lines = [json.dumps(_obvious("A", "right")), json.dumps(_obvious("C", "wrong")), json.dumps(short), "{not json"]
    data = tmp_path / "t1.jsonl"
    data.write_text("\n".join(lines) + "\n")
    result = cli("eval", "intentionqa", "--task", "1", "--data", str(data), "--mode", "embedding", "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert (s["task"], s["mode"], s["n"], s["correct"], s["accuracy"]) == (1, "embedding", 2, 1, 0.5)
    assert s["skipped"] == 1 and s["quarantined"] == 1 and s["unparsable"] == 0
    assert s["relations"] == {"IsA": {"n": 2, "correct": 1, "accuracy": 0.5}}
    with open(s["quarantine_file"]) as handle:
        entry = json.loads(handle.readline())
    assert entry["line"] == 4 and "invalid JSON" in entry["reason"]


def test_embedding_mode_on_dev_questions_task2(cli, tmp_path):
    lines = task2_file().read_text().splitlines()[:12]
    complete = [json.loads(x) for x in lines if len(json.loads(x)["options"]) >= 4]
    data = tmp_path / "t2.jsonl"
    data.write_text("\n".join(lines) + "\n")
    result = cli("eval", "intentionqa", "--task", "2", "--data", str(data), "--mode", "embedding", "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert s["n"] == len(complete) and s["skipped"] == len(lines) - len(complete)
    assert s["accuracy"] == round(s["correct"] / s["n"], 4)
    assert sum(r["n"] for r in s["relations"].values()) == s["n"]
    assert s["correct"] >= s["n"] // 2  # far above chance (0.25) even on a few questions


def test_task2_options_map_to_products_by_name():
    """The gold option is item B; a distractor is keyed by the name the question shows, because the
    file's distractors_id often belong to other items (see mindkb.ids.named_product_asin)."""
    first = json.loads(task2_file().read_text().splitlines()[0])
    q = parse_question(first, 2)
    assert q.option_asins[q.gold] == first["item_b_id"]
    distractors = sorted(a for letter, a in q.option_asins.items() if letter != q.gold)
    assert distractors == sorted(named_product_asin(clean_text(n)) for n in first["distractors_product"])
    mismatched = 0
    for line in task2_file().read_text().splitlines():
        d = json.loads(line)
        items = {d["item_a_id"]: d["item_a_name"], d["item_b_id"]: d["item_b_name"]}
        mismatched += sum(1 for i, n in zip(d["distractors_id"], d["distractors_product"], strict=False) if i in items and items[i] != n)
    assert mismatched > 0  # the data problem the name keys work around is real


def _import(cli, path, fmt="intentionqa"):
    result = cli("import", "intentions", str(path), "--format", fmt, "--json")
    assert result.returncode == 0, result.stderr


def test_kb_mode_task1_excludes_own_pairs_and_option_facts(empty_graph, settings, cli, tmp_path):
    data = tmp_path / "t1.jsonl"
    data.write_text("\n".join(dev_lines(task1_file(), 3)) + "\n")
    _import(cli, data)
    first = json.loads(data.read_text().splitlines()[0])
    distractor = first["options"]["B" if first["gold_ind"] != "B" else "C"]
    planted = tmp_path / "planted.jsonl"  # another pair's fact whose text is one of the options
    planted.write_text(json.dumps({"asin_a": "Z0001", "asin_b": "Z0002", "relation": "Other", "name_a": "a lamp",
                                   "name_b": "a bulb", "text": distractor.removeprefix("because ")}) + "\n")
    _import(cli, planted, "jsonl")
    assert cli("embed", "--json").returncode == 0
    total = empty_graph.execute_query("MATCH (i:Intention) RETURN count(i) AS n").records[0]["n"]

    result = cli("eval", "intentionqa", "--task", "1", "--data", str(data), "--mode", "kb", "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert s["n"] >= 3 and s["accuracy"] == round(s["correct"] / s["n"], 4)
    # Own pairs (3) and the planted fact's pair, withheld whole; every fact is withheld from some question.
    assert s["excluded_pairs"] == 4 and s["excluded_facts"] == total and s["missing_products"] == 0
    assert s["kb"]["kb_pairs"] == 4

    loose = cli("eval", "intentionqa", "--task", "1", "--data", str(data), "--mode", "kb",
                "--no-exclude-eval-pairs", "--json").summary
    assert loose["excluded_facts"] == 0 and loose["n"] == s["n"]
    assert loose["correct"] >= s["correct"]  # knowing the answers' own facts can only help

    q = parse_question(first, 1)
    ex = build_exclusions(empty_graph, settings.neo4j_database, [q])[q]
    own = [f["id"] for f in
           read(empty_graph, settings.neo4j_database, intention_ids_for_pairs, [[q.asin_a, q.asin_b]])[0]["facts"]]
    planted_id = empty_graph.execute_query(
        "MATCH (i:Intention {source: 'jsonl'}) RETURN i.id AS id").records[0]["id"]
    assert own and ex.intention_ids == frozenset(own) | {planted_id}
    assert ex.pairs == {pair_key(q.asin_a, q.asin_b), pair_key("Z0001", "Z0002")}


def test_kb_typical_skips_withheld_pairs(empty_graph, settings):
    """`typical` is the mean of the k best option-to-pair cosines over the KB's pairs, withheld pairs
    left out; the pairs' vectors are unit(vA + vB) of the stored product vectors."""
    import numpy as np

    from evaluation.kb_mode import KbStats, PairIndex
    from graph.driver import write
    from graph.embeddings import set_product_embeddings

    products = {f"P{i}": f"product {i}" for i in range(8)}
    pairs = [("P0", "P1"), ("P2", "P3"), ("P4", "P5"), ("P6", "P7")]
    seed_graph(empty_graph, settings.neo4j_database, products,
               [(a, b, "IsA", "ACCEPTED", f"fact {a}") for a, b in pairs] + [("P0", "P2", "IsA", "REJECTED", "no")])
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((8, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    write(empty_graph, settings.neo4j_database, set_product_embeddings,
          [{"key": f"P{i}", "embedding": v.tolist()} for i, v in enumerate(vecs)], "m")
    index = PairIndex(empty_graph, settings.neo4j_database, KbStats())
    assert index.pairs == pairs  # the rejected-only pair (P0, P2) is not a KB pair
    pv = np.stack([vecs[2 * i] + vecs[2 * i + 1] for i in range(4)])
    pv /= np.linalg.norm(pv, axis=1, keepdims=True)
    option = pv[:1] * 0.9 + pv[1:2] * 0.1  # closest to the first pair
    sims = (option @ pv.T)[0]
    assert np.allclose(index.typical(option, frozenset(), 2), np.sort(sims)[-2:].mean(), atol=1e-5)
    assert np.allclose(index.typical(option, frozenset({("P0", "P1")}), 2), np.sort(sims[1:])[-2:].mean(), atol=1e-5)


def test_kb_mode_task2_through_recommend(empty_graph, settings, cli, tmp_path):
    data = tmp_path / "t2.jsonl"
    data.write_text("\n".join(dev_lines(task2_file(), 3)) + "\n")
    _import(cli, data)
    assert cli("embed", "--json").returncode == 0
    result = cli("eval", "intentionqa", "--task", "2", "--data", str(data), "--mode", "kb", "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert s["n"] >= 3 and s["accuracy"] == round(s["correct"] / s["n"], 4)
    assert s["missing_products"] == 0 and s["excluded_pairs"] == 3 and s["excluded_facts"] > 0
    # Every option's product exists under the key the question maps it to, with the name it shows.
    for line in data.read_text().splitlines():
        q = parse_question(json.loads(line), 2)
        titles = dict(empty_graph.execute_query(
            "UNWIND $asins AS asin MATCH (p:Product {asin: asin}) RETURN p.asin AS asin, p.title AS title",
            asins=list(q.option_asins.values())).records)
        assert {letter: titles.get(a) for letter, a in q.option_asins.items()} == \
            {letter: clean_text(text) for letter, text in q.options.items()}

    # The question's own co-buy edge is what exclude_pairs withholds from recommend().
    from embedding.models import load_sentence_model
    from graph.aio import AsyncGraph, make_async_driver
    from retrieval.recommend import recommend
    from retrieval.requests import RecommendRequest

    q = parse_question(json.loads(data.read_text().splitlines()[0]), 2)
    vec = load_sentence_model(settings.embedding_model).encode([q.intention], normalize_embeddings=True)[0].tolist()
    request = RecommendRequest(intention=q.intention, k=4, context_asin=q.asin_a, candidates=[q.asin_b])

    async def scores(exclude):
        drv = make_async_driver(settings)
        try:
            ranked = (await recommend(AsyncGraph(drv, settings.neo4j_database), request, vec, settings=settings,
                                      exclude_pairs=exclude)).candidates
        finally:
            await drv.close()
        return ranked[0].score

    assert asyncio.run(scores(frozenset({pair_key(q.asin_a, q.asin_b)}))) < asyncio.run(scores(frozenset()))


def test_parse_answer_like_the_benchmark():
    assert parse_answer("B") == "B" and parse_answer("(C) because") == "C" and parse_answer("Answer: D.") == "D"
    assert parse_answer("A customer") == "A"  # the first standalone letter, as the scorer reads it
    assert parse_answer("I am not sure") is None and parse_answer("") is None and parse_answer("Bob") is None


def test_llm_mode_tiny_causal_lm(cli, tmp_path):
    words = " ".join(json.loads(x)["item_a_name"] for x in task1_file().read_text().splitlines()[:20])
    model = build_tiny_causal_lm(tmp_path / "tiny-lm", words + " product customer intention answer letter")
    result = cli("eval", "intentionqa", "--task", "1", "--data", str(task1_file()), "--mode", "llm", "--model",
                 str(model), "--device", "cpu", "--limit", "4", "--json")
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert s["n"] == 4 and 0 <= s["unparsable"] <= 4 and s["correct"] <= 4 - s["unparsable"]
    assert s["accuracy"] == round(s["correct"] / 4, 4)


def test_llm_mode_openai_backend_counts_and_parses(cli):
    lines = [json.loads(x) for x in task1_file().read_text().splitlines()]
    first6 = [d for d in lines if len(d["options"]) >= 4][:6]
    with LetterServer(["Answer: C"]) as server:
        s = cli("eval", "intentionqa", "--task", "1", "--data", str(task1_file()), "--mode", "llm", "--backend", "openai",
                "--base-url", server.url, "--model", "served", "--limit", "6", "--json").summary
    assert s["n"] == 6 and s["unparsable"] == 0 and s["correct"] == sum(d["gold_ind"] == "C" for d in first6)
    with LetterServer(["I am not sure", "(B) because"]) as server:
        result = cli("eval", "intentionqa", "--task", "1", "--data", str(task1_file()), "--mode", "llm", "--backend",
                     "openai", "--base-url", server.url, "--model", "served", "--limit", "6", "--json")
        assert server.calls == 6
    assert result.returncode == 0, result.stderr
    assert result.summary["unparsable"] == 3 and result.summary["correct"] <= 3
