"""`mind import ... --bulk` and `mind ingest pairs|catalog --bulk`: the records through neo4j-admin's importer
give, node by node and property by property, the database the incremental loader gives; a loaded or remote
database is refused.

The incremental import goes into the suite's server, the bulk one into a spare local server of this
module's own (the importer replaces its whole store). Only time stamps differ by nature: createdAt
(intentions, CO_BUY edges) and featuresAt (products) are compared as present, not by value.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from embedding.models import embedding_dimensions
from graph.bulkgraph import BulkGraph
from graph.driver import make_driver
from graph.maintenance import delete_everything
from ingest.bulkload import bulk_import_intentions, bulk_ingest_catalog
from ingest.catalog import CatalogOptions, ingest_catalog
from ingest.intentions import ImportOptions, import_intentions
from mindkb.errors import MindError
from mindkb.quarantine import Quarantine
from tests.ingest.test_folkscope_layout import write_paired
from tests.support.ingest import draw, product, write_lines
from tests.support.paths import shared_file
from tests.support.server import spare_server

# The importer's store and the schema built after it: also on the 5.26 LTS server (`make test-lts`).
server_versions = pytest.mark.server_versions

TIME_STAMPS = frozenset({"createdAt", "featuresAt"})
KEYS = {"Product": "asin", "Intention": "id", "Relation": "name", "PendingLink": "key"}


@pytest.fixture(scope="module")
def bulk_server(tmp_path_factory):
    """(settings, environment) of a stoppable local server that `mind` can be pointed at."""
    with spare_server(tmp_path_factory.mktemp("bulk-import-neo4j"), uri=True) as (settings, _local, env):
        yield settings, env


def _key(labels: list[str], props: dict) -> tuple[str, str]:
    label = next(name for name in KEYS if name in labels)
    return label, props[KEYS[label]]


def _comparable(props: dict) -> dict:
    """Properties with the time stamps reduced to their presence (the embeddings: none were made)."""
    return {k: (v is not None) if k in TIME_STAMPS else v for k, v in props.items()}


def _graph(driver, database: str) -> dict:
    """Every node by its key with its labels and properties, every edge by type and endpoints, the schema."""
    with driver.session(database=database) as s:
        nodes = {}
        for r in s.run("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"):
            key = _key(r["labels"], r["props"])
            assert key not in nodes, key
            nodes[key] = (sorted(r["labels"]), _comparable(r["props"]))
        edges = {}
        for r in s.run("MATCH (a)-[e]->(b) RETURN labels(a) AS la, properties(a) AS pa, type(e) AS type, "
                       "properties(e) AS props, labels(b) AS lb, properties(b) AS pb"):
            key = (r["type"], _key(r["la"], r["pa"]), _key(r["lb"], r["pb"]))
            assert key not in edges, key
            edges[key] = _comparable(r["props"])
        by_type = {(r["type"], tuple(r["la"]), tuple(r["lb"])): r["n"] for r in s.run(
            "MATCH (a)-[e]->(b) RETURN type(e) AS type, [l IN labels(a) WHERE l IN $base] AS la, "
            "[l IN labels(b) WHERE l IN $base] AS lb, count(*) AS n", base=list(KEYS))}
        schema = sorted((r["name"], r["type"], r["state"]) for r in s.run(
            "SHOW INDEXES YIELD name, type, state, entityType WHERE type <> 'LOOKUP' RETURN name, type, state"))
    return {"nodes": nodes, "edges": edges, "by_type": by_type, "schema": schema}


def _assert_same(incremental: dict, bulk: dict) -> None:
    assert incremental["by_type"] == bulk["by_type"]
    assert incremental["schema"] == bulk["schema"]
    assert incremental["nodes"].keys() == bulk["nodes"].keys()
    for key, node in incremental["nodes"].items():
        assert bulk["nodes"][key] == node, key
    assert incremental["edges"] == bulk["edges"]


def _records() -> list[dict]:
    with shared_file("mind-real/mind_output.dev.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@server_versions
def test_bulk_import_of_the_authors_csv_equals_the_incremental_import(empty_graph, settings, cli, bulk_server,
                                                                       tmp_path):
    source = shared_file("mind-real/mind_output.dev.csv")
    bulk_settings, env = bulk_server
    args = ("import", "intentions", str(source), "--format", "mind-csv", "--with-assertions", "--json")
    slow = cli(*args, "--quarantine", str(tmp_path / "slow.jsonl"))
    assert slow.returncode == 0, slow.stderr
    fast = cli(*args, "--bulk", "--quarantine", str(tmp_path / "fast.jsonl"), env=env)
    assert fast.returncode == 0, fast.stderr

    summary, expected = fast.summary, slow.summary
    assert summary.pop("path") == "bulk" and set(summary.pop("timings")) >= {"read_s", "import_s", "indexes_s"}
    counts = summary.pop("counts")
    assert summary.pop("quarantine_file") is None and expected.pop("quarantine_file") is None
    assert summary == expected
    records = _records()
    assert summary["read"] == len(records) and summary["intentions"] == 2 * len(records)  # answers and assertions
    assert counts["intentions"] == summary["intentions"]
    print("bulk timings (s):", fast.summary["timings"])

    incremental = _graph(empty_graph, settings.neo4j_database)
    with make_driver(bulk_settings) as driver:
        bulk = _graph(driver, bulk_settings.neo4j_database)
    _assert_same(incremental, bulk)
    products = [node for (label, _), node in incremental["nodes"].items() if label == "Product"]
    assert len(products) == counts["products"] > 3000
    assert sum(1 for _, props in products if props.get("featuresAt") is True) > 3000
    assert {"ONLINE"} == {state for _, _, state in bulk["schema"]}
    assert {"intention_embedding", "product_embedding", "pending_link_key"} <= {name for name, _, _ in bulk["schema"]}

    # The database is loaded now: a second bulk import is refused in one line, and nothing changes.
    again = cli(*args, "--bulk", env=env)
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "holds" in again.stderr and "empty database" in again.stderr
    with make_driver(bulk_settings) as driver:
        assert _graph(driver, bulk_settings.neo4j_database) == bulk


# Not in the LTS job: the layout is the reading path's concern; the importer on 5.26 is checked above.
def test_bulk_import_of_the_paired_layout_with_bad_records_equals_the_incremental_import(
        empty_graph, settings, bulk_server, tmp_path):
    """FolkScope's two-records-per-row layout, with the products' URL lists and categories, and records
    that go to the quarantine: the same rows, quarantine file and summary both ways."""
    bulk_settings, _ = bulk_server
    records = _records()[:240]
    records[7] = dict(records[7], id_a="not an asin")
    records[20] = dict(records[20], Relation="fliesTo")
    path = write_paired(tmp_path / "paired.csv", records)
    dims = embedding_dimensions(settings.embedding_model)
    with Quarantine(tmp_path / "slow.jsonl") as q:
        slow = import_intentions(empty_graph, settings, path, "mind-csv", q, batch_size=50)
    _emptied(bulk_settings)
    with Quarantine(tmp_path / "fast.jsonl") as q:
        fast = bulk_import_intentions(bulk_settings, path, "mind-csv", q, dims, batch_size=50,
                                      options=ImportOptions())
    assert {fast.pop("path"), slow["quarantined"]} == {"bulk", 2}
    fast.pop("timings"), fast.pop("counts")
    assert fast.pop("quarantine_file") == str(tmp_path / "fast.jsonl")
    assert slow.pop("quarantine_file") == str(tmp_path / "slow.jsonl")
    assert fast == slow

    def entries(name: str) -> list[dict]:
        return [json.loads(line) for line in Path(tmp_path / name).read_text().splitlines()]

    assert entries("fast.jsonl") == entries("slow.jsonl") and len(entries("slow.jsonl")) == 2
    incremental = _graph(empty_graph, settings.neo4j_database)
    with make_driver(bulk_settings) as driver:
        _assert_same(incremental, _graph(driver, bulk_settings.neo4j_database))
    urls = [props["imageUrls"] for (label, _), (_, props) in incremental["nodes"].items()
            if label == "Product" and "imageUrls" in props]
    assert urls and all(len(u) == 3 for u in urls)


def _emptied(bulk_settings) -> None:
    """The spare server's database emptied again (each bulk import needs an empty one)."""
    with make_driver(bulk_settings) as driver:
        delete_everything(driver, bulk_settings.neo4j_database)


@pytest.mark.slow
def test_bulk_pairs_equal_the_incremental_pairs(empty_graph, settings, cli, bulk_server, tmp_path):
    """IntentionQA's pairs through `mind ingest pairs --bulk`, with a bad line for the quarantine."""
    bulk_settings, env = bulk_server
    path = tmp_path / "pairs.jsonl"
    path.write_text(shared_file("intentionqa/task1.dev.jsonl").read_text() + '{"item_a_id": "nope"}\n')
    slow = cli("ingest", "pairs", str(path), "--quarantine", str(tmp_path / "slow.jsonl"), "--json")
    assert slow.returncode == 0, slow.stderr
    _emptied(bulk_settings)
    fast = cli("ingest", "pairs", str(path), "--bulk", "--quarantine", str(tmp_path / "fast.jsonl"), "--json", env=env)
    assert fast.returncode == 0, fast.stderr
    summary, expected = fast.summary, slow.summary
    assert (summary.pop("path"), summary.pop("quarantine_file"), expected.pop("quarantine_file")) == (
        "bulk", str(tmp_path / "fast.jsonl"), str(tmp_path / "slow.jsonl"))
    assert summary.pop("counts")["co_buys"] == expected["co_buy"] > 900
    summary.pop("timings")
    assert summary == expected and expected["quarantined"] == 1
    assert (tmp_path / "fast.jsonl").read_text() == (tmp_path / "slow.jsonl").read_text()
    incremental = _graph(empty_graph, settings.neo4j_database)
    with make_driver(bulk_settings) as driver:
        _assert_same(incremental, _graph(driver, bulk_settings.neo4j_database))


@pytest.mark.slow
def test_bulk_intentionqa_equals_the_incremental_import(empty_graph, settings, bulk_server, tmp_path):
    """IntentionQA's task 2: intentions from assertions, and the distractor products without co-buys."""
    bulk_settings, _ = bulk_server
    path = shared_file("intentionqa/task2.dev.jsonl")
    with Quarantine(tmp_path / "slow.jsonl") as q:
        slow = import_intentions(empty_graph, settings, path, "intentionqa", q)
    _emptied(bulk_settings)
    with Quarantine(tmp_path / "fast.jsonl") as q:
        fast = bulk_import_intentions(bulk_settings, path, "intentionqa", q,
                                      embedding_dimensions(settings.embedding_model))
    for key in ("path", "counts", "timings"):
        fast.pop(key)
    assert fast == slow and slow["intentions"] > 1000
    incremental = _graph(empty_graph, settings.neo4j_database)
    with make_driver(bulk_settings) as driver:
        _assert_same(incremental, _graph(driver, bulk_settings.neo4j_database))


def test_bulk_import_refuses_a_remote_server_in_one_line(cli, tmp_path):
    source = shared_file("mind-real/mind_output.dev.csv")
    r = cli("import", "intentions", str(source), "--format", "mind-csv", "--bulk",
            env={"NEO4J_URI": "bolt://db.example.com:7687"})
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "local server's store" in r.stderr


def _catalog(tmp_path: Path) -> tuple[Path, Path]:
    """A catalogue whose also_buy links point at products later in the file (a later batch at 3 per
    batch), at products never loaded (pending links that remain), with a malformed line, an asin loaded
    twice (the later record drops its brand), an unreadable image and records without lists."""
    images = tmp_path / "images"
    draw(images / "E0001.jpg")
    draw(images / "E0004.png", fmt="PNG")
    (images / "E0005.jpg").write_bytes(b"not an image")
    path = write_lines(tmp_path / "catalog.jsonl", [
        product("E0001", "Kettle", brand="Boil", price="$1,019.50", also_buy=["E0007", "E0002", "X9999"],
                feature=["1.7 l", "Auto off"], description=["Steel.", "Quiet."]),
        product("E0002", "Mug", also_buy=["E0001", "E0003"]),
        "{not json",
        product("E0003", "Tea", brand="Leaf", also_buy=["E0006", "X9998", "E0001"]),
        product("E0004", "Tray", imageURL=["https://example.invalid/t.jpg"], also_buy=["E0007"]),
        product("E0005", "Spoon", also_buy=["E0002", "X9999"], category=[], main_cat=None),
        product("E0003", "Tea, loose", also_buy=["E0007", "X9997"]),  # the same asin, a later batch
        product("E0006", "Cosy", price=12, also_buy=["E0006", "E0003"]),
        json.dumps({"asin": "E0008"}),
        product("E0007", "Tin", also_buy=["E0004", "X9998"]),
    ])
    return path, images


def test_bulk_catalog_equals_the_incremental_catalog(empty_graph, settings, bulk_server, tmp_path):
    """Products with every catalogue and image property, CO_BUY edges made both at once and from pending
    links completed later, pending links left over: the same graph, quarantine and summary both ways."""
    bulk_settings, _ = bulk_server
    path, images = _catalog(tmp_path)
    options = CatalogOptions(images_dir=images)
    with Quarantine(tmp_path / "slow.jsonl") as q:
        slow = ingest_catalog(empty_graph, settings, [path], options, q, batch_size=3)
    _emptied(bulk_settings)
    with Quarantine(tmp_path / "fast.jsonl") as q:
        fast = bulk_ingest_catalog(bulk_settings, [path], options, q, embedding_dimensions(settings.embedding_model),
                                   batch_size=3)
    assert fast.pop("path") == "bulk" and set(fast.pop("timings")) >= {"read_s", "import_s", "indexes_s"}
    counts = fast.pop("counts")
    assert (fast.pop("quarantine_file"), slow.pop("quarantine_file")) == (str(tmp_path / "fast.jsonl"),
                                                                           str(tmp_path / "slow.jsonl"))
    assert fast == slow
    assert (slow["read"], slow["loaded"], slow["created"], slow["quarantined"]) == (10, 8, 7, 3)
    assert slow["images"] == {"ok": 2, "missing": 5, "unreadable": 1}
    assert slow["pending_links"] == counts["pending_links"] == 5
    # 1-2, 1-3, 2-3 at once, 2-5, then 3-6 and 4-7 (pending links found complete), 1-7 and 3-7 from pending links
    assert counts["co_buys"] == slow["co_buy"] == 8

    def entries(name: str) -> list[dict]:
        return [json.loads(line) for line in Path(tmp_path / name).read_text().splitlines()]

    assert entries("fast.jsonl") == entries("slow.jsonl")
    incremental = _graph(empty_graph, settings.neo4j_database)
    with make_driver(bulk_settings) as driver:
        _assert_same(incremental, _graph(driver, bulk_settings.neo4j_database))
    nodes = incremental["nodes"]
    assert {key for label, key in nodes if label == "PendingLink"} == {
        "E0001>X9999", "E0003>X9998", "E0003>X9997", "E0005>X9999", "E0007>X9998"}
    kettle, tea = nodes[("Product", "E0001")][1], nodes[("Product", "E0003")][1]
    assert (kettle["price"], kettle["imageState"], kettle["bulletPoints"]) == (1019.5, "ok", ["1.7 l", "Auto off"])
    assert tea["title"] == "Tea, loose" and "brand" not in tea
    assert nodes[("Product", "E0005")][1]["imageState"] == "unreadable"


def test_bulk_catalog_of_the_sample_through_the_cli(empty_graph, settings, cli, bulk_server, tmp_path):
    """The shipped sample catalogue: `mind ingest catalog --bulk` gives the incremental graph and summary,
    then refuses the loaded database in one line."""
    bulk_settings, env = bulk_server
    sample = Path(__file__).resolve().parents[2] / "ingest" / "sample" / "catalog.jsonl"
    slow = cli("ingest", "catalog", str(sample), "--json")
    assert slow.returncode == 0, slow.stderr
    _emptied(bulk_settings)
    fast = cli("ingest", "catalog", str(sample), "--bulk", "--json", env=env)
    assert fast.returncode == 0, fast.stderr
    summary, expected = fast.summary, slow.summary
    assert summary.pop("path") == "bulk" and summary.pop("counts")["products"] == expected["loaded"] > 10
    summary.pop("timings")
    assert summary == expected and expected["co_buy"] > 10
    incremental = _graph(empty_graph, settings.neo4j_database)
    with make_driver(bulk_settings) as driver:
        _assert_same(incremental, _graph(driver, bulk_settings.neo4j_database))

    again = cli("ingest", "catalog", str(sample), "--bulk", env=env)
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "holds" in again.stderr and "empty database" in again.stderr
    remote = cli("ingest", "catalog", str(sample), "--bulk", env={"NEO4J_URI": "bolt://db.example.com:7687"})
    assert remote.returncode == 2
    assert remote.stderr.strip().count("\n") == 0 and "local server's store" in remote.stderr


def test_bulk_catalog_refuses_a_product_property_without_an_importer_type():
    """A property the catalogue parser gains must get an importer type before it can be imported."""
    graph = BulkGraph()
    with pytest.raises(MindError, match=r"product properties \['colour'\] have no importer type"):
        graph.write_catalog_batch([{"asin": "F0001", "props": {"title": "Cup", "colour": "red"}, "image": None}],
                                  [], "also_buy")
    assert graph.products == {}
