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


def test_stats_sources_and_noise_left_out(empty_graph, settings, cli):
    """The authors' real output beside a random model's noise and other sources: `--sources mind-csv`
    reports the real release's own preserve rate; noise is left out unless named."""
    from graph.driver import write
    from graph.intentions import merge_intentions
    from tests.support.paths import shared_file

    source = shared_file("mind-real/mind_output.dev.csv")
    assert cli("import", "intentions", str(source), "--format", "mind-csv", "--json").returncode == 0
    db = settings.neo4j_database
    mind = seed_graph(empty_graph, db, PRODUCTS, INTENTIONS)  # source mind, 3 of 6 filtered kept
    noise = [dict(r, id=r["id"] + "-noise", props={**r["props"], "noise": True, "status": "REJECTED"}) for r in mind]
    write(empty_graph, db, merge_intentions, noise)

    real = cli("stats", "--sources", "mind-csv", "--json")
    assert real.returncode == 0, real.stderr
    s = real.summary
    assert (s["intentions"], s["total"]["generated"], s["total"]["accepted"]) == (1964, 1964, 862)
    assert s["total"]["preserve_rate"] == 0.4389 and s["sources"] == ["mind-csv"]  # the release's 43.9%
    assert "sources mind-csv only" in cli("stats", "--sources", "mind-csv").stdout

    everything = cli("stats", "--json").summary  # every source but noise
    assert everything["intentions"] == 1964 + len(INTENTIONS) and everything["noise_left_out"] == len(noise)
    assert everything["total"]["accepted"] == 862 + 3 and everything["sources"] is None
    assert "left out: 7 intentions of a model with random weights" in cli("stats").stdout

    only_noise = cli("stats", "--sources", "noise", "--json").summary
    assert only_noise["intentions"] == len(noise) and only_noise["total"]["rejected"] == len(noise)
    assert only_noise["noise_left_out"] == 0

    bad = cli("stats", "--sources", " , ", "--json")
    assert bad.returncode == 2 and bad.stderr.startswith("mind: --sources needs") and "Traceback" not in bad.stderr
