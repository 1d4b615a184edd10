"""`mind stats` on a known graph: exact counts, preserve rates, PendingLink ignored, the PNG."""

from __future__ import annotations

from PIL import Image

from tests.support.evaluation import seed_graph

PRODUCTS = {"P1": "USB cable", "P2": "USB hub", "P3": "Silver ring", "P4": "Gold earrings"}
INTENTIONS = [
    ("P1", "P2", "UsedFor", "ACCEPTED", "they are both used for connecting devices"),
    ("P1", "P2", "UsedFor", "REJECTED", "they are both used for cooking"),
    ("P1", "P2", "UsedFor", "UNDECIDED", "they are both used for something"),
    ("P1", "P2", "IsA", "ACCEPTED", "they both are a type of computer accessory"),
    ("P3", "P4", "IsA", "ACCEPTED", "they both are a type of jewelry"),
    ("P3", "P4", "IsA", "REJECTED", "they both are a type of cable"),
    ("P3", "P4", "CapableOf", "GENERATED", "they both are capable of shining"),
]


def _pending_link(driver, database):
    with driver.session(database=database) as s:
        s.run("CREATE (:PendingLink {key: 'P1>X9', from: 'P1', to: 'X9', source: 'test'})").consume()


def test_stats_counts_and_preserve_rates(empty_graph, settings, cli, tmp_path):
    seed_graph(empty_graph, settings.neo4j_database, PRODUCTS, INTENTIONS)
    _pending_link(empty_graph, settings.neo4j_database)
    plot = tmp_path / "fig5.png"
    result = cli("stats", "--json", "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    s = result.summary
    assert s["products"] == 4 and s["co_buy"] == 2 and s["intentions"] == 7
    used = s["relations"]["UsedFor"]
    assert (used["generated"], used["accepted"], used["rejected"], used["undecided"], used["pending"]) == (3, 1, 1, 1, 0)
    assert used["preserve_rate"] == round(1 / 3, 4)
    isa = s["relations"]["IsA"]
    assert (isa["generated"], isa["accepted"], isa["rejected"]) == (3, 2, 1) and isa["preserve_rate"] == round(2 / 3, 4)
    cap = s["relations"]["CapableOf"]
    assert (cap["generated"], cap["pending"], cap["preserve_rate"]) == (1, 1, None)
    assert s["relations"]["Effect"]["generated"] == 0 and s["relations"]["Effect"]["preserve_rate"] is None
    assert len(s["relations"]) == 20
    total = s["total"]
    assert (total["generated"], total["accepted"], total["rejected"], total["undecided"], total["pending"]) == (7, 3, 2, 1, 1)
    assert total["preserve_rate"] == 0.5
    with Image.open(plot) as img:
        img.load()
        assert img.format == "PNG" and img.size[0] > 100 and img.size[1] > 100


def test_stats_text_table(empty_graph, settings, cli):
    seed_graph(empty_graph, settings.neo4j_database, PRODUCTS, INTENTIONS)
    result = cli("stats")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["relation", "generated"]
    used = next(line for line in lines if line.startswith("UsedFor"))
    assert used.split() == ["UsedFor", "3", "1", "1", "1", "0", "33.3%"]
    assert next(line for line in lines if line.startswith("TOTAL")).split()[-1] == "50.0%"
    assert "products: 4" in result.stdout and "co-buy records: 2" in result.stdout
