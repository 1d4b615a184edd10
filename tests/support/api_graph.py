"""A small, semantically clear knowledge base for the API and embed tests (real writes, real MiniLM)."""

from __future__ import annotations

from embedding.embed import embed_all
from embedding.encoder import TextEncoder
from embedding.models import embedding_dimensions
from graph.driver import write
from graph.intentions import merge_intentions
from graph.maintenance import delete_everything
from graph.products import merge_co_buys, merge_products
from graph.schema import apply_schema
from mindkb.ids import intention_id, pair_key

PRODUCTS = {
    "B0TENT0001": ("Four-person waterproof dome tent", "TrailCo", "A dome tent for camping trips in the rain."),
    "B0SLEEP001": ("Mummy sleeping bag for cold nights", "TrailCo", "Insulated sleeping bag for camping outdoors."),
    "B0STOVE001": ("Portable camping gas stove", "FlameOn", "Compact stove to cook meals at a campsite."),
    "B0PHONE001": ("Smartphone 128GB unlocked", "Phonix", "A mobile phone with a large screen."),
    "B0CASE0001": ("Shockproof phone case", "Armor", "A rugged case that protects a phone from drops."),
    "B0CHARGE01": ("USB-C fast wall charger", "Volt", "A charger that charges phones quickly."),
    "B0YOGA0001": ("Non-slip yoga mat", "Zen", "A cushioned mat for yoga and pilates."),
    "B0BLOCK001": ("Foam yoga blocks, set of two", "Zen", "Blocks that support yoga poses."),
    "B0KETTLE01": ("Electric kettle 1.7 L", "Brew", "Boils water for tea and coffee."),
    "B0MUG00001": ("Ceramic coffee mug", "Brew", "A mug for hot drinks."),
    "B0LONELY01": ("Garden hose 50 ft", "Green", "A hose for watering plants in the garden."),
}
CO_BUYS = [
    ("B0TENT0001", "B0SLEEP001"), ("B0TENT0001", "B0STOVE001"), ("B0SLEEP001", "B0STOVE001"),
    ("B0PHONE001", "B0CASE0001"), ("B0PHONE001", "B0CHARGE01"), ("B0YOGA0001", "B0BLOCK001"),
    ("B0KETTLE01", "B0MUG00001"),
]
# (a, b, relation, status, text, rationale)
INTENTIONS = [
    ("B0TENT0001", "B0SLEEP001", "UsedFor", "ACCEPTED",
     "they are both used for camping outdoors overnight in the wilderness", "Yes, both are camping gear."),
    ("B0TENT0001", "B0STOVE001", "CapableOf", "ACCEPTED",
     "they both are capable of supporting a weekend camping trip", "Yes, a tent and a stove make a camp."),
    ("B0TENT0001", "B0SLEEP001", "Cause", "REJECTED",
     "the person wants to decorate a living room with soft furniture", "No, a tent is not living-room decor."),
    ("B0PHONE001", "B0CASE0001", "UsedFor", "ACCEPTED",
     "they are both used for protecting a mobile phone from drops and scratches", "Yes, a case protects it."),
    ("B0PHONE001", "B0CHARGE01", "UsedFor", "ACCEPTED",
     "they are both used for keeping a smartphone charged during the day", "Yes, the charger powers it."),
    ("B0YOGA0001", "B0BLOCK001", "UsedFor", "ACCEPTED",
     "they are both used for practicing yoga poses at home", "Yes, mats and blocks go together."),
    ("B0KETTLE01", "B0MUG00001", "CauseDesire", "ACCEPTED",
     "the person wants his morning tea or coffee hot", "Yes, boil water and pour it in the mug."),
    ("B0KETTLE01", "B0MUG00001", "IsA", "GENERATED", "they both are a type of kitchen item", None),
]
# Many intentions on one pair, for pagination (phone + case).
PAGED = [("B0PHONE001", "B0CASE0001", rel, "ACCEPTED", f"{tpl} phone accessory number {n}", "Yes.")
         for n, (rel, tpl) in enumerate([("PropertyOf", "they both have a property of"),
                                          ("RelatedTo", "they both are related to")] * 6)]


def rows_for(intentions) -> list[dict]:
    rows = []
    for a, b, relation, status, text, rationale in intentions:
        rows.append({
            "id": intention_id(a, b, relation, "test-model", "v1", text), "asinA": a, "asinB": b,
            "relation": relation,
            "props": {"text": text, "status": status, "rationale": rationale, "model": "test-model",
                      "promptVersion": "v1", "source": "mind"},
        })
    return rows


def build_graph(driver, database: str) -> dict[str, str]:
    """Reset the database and load the fixture graph; returns {text: intention id}."""
    from mindkb.settings import Settings

    delete_everything(driver, database)
    apply_schema(driver, database, embedding_dimensions(Settings().embedding_model))
    write(driver, database, merge_products, [
        {"asin": asin, "props": {"title": t, "brand": b, "features": f, "mainCat": "Test"}}
        for asin, (t, b, f) in PRODUCTS.items()])
    write(driver, database, merge_co_buys, [
        dict(zip(("a", "b"), pair_key(a, b), strict=True), source="test") for a, b in CO_BUYS])
    rows = rows_for(INTENTIONS + PAGED)
    write(driver, database, merge_intentions, rows)
    return {r["props"]["text"]: r["id"] for r in rows}


def build_embedded_graph(driver, settings) -> dict:
    """build_graph, then every node embedded with the real sentence model (what the API tests serve)."""
    ids = build_graph(driver, settings.neo4j_database)
    encoder = TextEncoder.load(settings.embedding_model, batch_size=64, backend=settings.embedding_backend,
                               cache_dir=settings.cache_dir)
    embed_all(driver, settings.neo4j_database, encoder)
    return ids
