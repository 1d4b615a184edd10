"""The paper's 20 ConceptNet-style relations and the templates intentions start with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Relation:
    name: str
    template: str
    paper_accepted: int

    @property
    def enum_name(self) -> str:
        """UPPER_SNAKE form used by the GraphQL enum."""
        out = []
        for i, ch in enumerate(self.name):
            if ch.isupper() and i:
                out.append("_")
            out.append(ch.upper())
        return "".join(out)


RELATIONS: tuple[Relation, ...] = (
    Relation("Effect", "they both have an effect of", 97_047),
    Relation("MannerOf", "they both are a manner of", 50_563),
    Relation("IsA", "they both are a type of", 62_069),
    Relation("Other", "they both are", 545),
    Relation("MadeOf", "they both are made of", 40_593),
    Relation("SimilarTo", "they both are similar to", 63_558),
    Relation("UsedFor", "they are both used for", 52_383),
    Relation("Can", "they both can", 90_392),
    Relation("CauseDesire", "the person wants his", 95_097),
    Relation("RelatedTo", "they both are related to", 64_152),
    Relation("PartOf", "they both are a part of", 81_230),
    Relation("Open", "", 122_296),
    Relation("CreatedBy", "they are created by", 35_723),
    Relation("DeriveFrom", "they are derived from", 60_347),
    Relation("DefinedAs", "they both are defined as", 51_680),
    Relation("PropertyOf", "they both have a property of", 57_947),
    Relation("CapableOf", "they both are capable of", 86_772),
    Relation("Cause", "the person wants to", 61_860),
    Relation("SymbolOf", "they both are symbols of", 64_477),
    Relation("DistinctFrom", "they are distinct from", 27_710),
)

BY_NAME: dict[str, Relation] = {r.name: r for r in RELATIONS}
RELATION_NAMES: tuple[str, ...] = tuple(r.name for r in RELATIONS)
STATUSES: tuple[str, ...] = ("GENERATED", "ACCEPTED", "REJECTED", "UNDECIDED")


def parse_relations(text: str | None) -> list[str]:
    """Parse a comma-separated `--relations` value; case-insensitive, UPPER_SNAKE accepted."""
    from mindkb.errors import BadInput

    if not text:
        return list(RELATION_NAMES)
    lookup = {r.name.lower(): r.name for r in RELATIONS}
    lookup.update({r.enum_name.lower(): r.name for r in RELATIONS})
    out: list[str] = []
    for part in text.split(","):
        key = part.strip().lower()
        if not key:
            continue
        if key not in lookup:
            raise BadInput(f"unknown relation {part.strip()!r}; known: {', '.join(RELATION_NAMES)}")
        if lookup[key] not in out:
            out.append(lookup[key])
    if not out:
        raise BadInput("--relations names no relation")
    return out
