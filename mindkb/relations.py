"""The paper's 20 ConceptNet-style relations and the templates intentions start with."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mindkb.errors import BadInput, BadOption


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


# Other spellings met in released data: the MIND authors' relation list (`propertOf`, sic) and
# ConceptNet's own names, which the paper's relations are taken from.
ALIASES: dict[str, str] = {
    "propertof": "PropertyOf", "hasproperty": "PropertyOf", "causes": "Cause",
    "causesdesire": "CauseDesire", "derivedfrom": "DeriveFrom", "createdby": "CreatedBy",
}
_KEY = re.compile(r"[^a-z0-9]")
# Longest template first, so "they both are a type of" wins over "they both are".
_TEMPLATES = sorted(((r.template.lower(), r.name) for r in RELATIONS if r.template), key=lambda t: -len(t[0]))


def _key(value: str) -> str:
    return _KEY.sub("", value.lower())


_LOOKUP: dict[str, str] = {_key(r.name): r.name for r in RELATIONS}
_LOOKUP.update({_key(r.template): r.name for r in RELATIONS if r.template})
_LOOKUP.update(ALIASES)


def lookup_relation(value: object) -> str | None:
    """One of the 20 names for any known spelling (any case, `_`/space/`-` ignored, a template,
    an alias), else None."""
    key = _key(str(value or ""))
    return _LOOKUP.get(key) if key else None


def relation_from_text(text: str) -> str:
    """The relation whose template the text starts with; Other when none does."""
    lowered = text.lower()
    for template, name in _TEMPLATES:
        if lowered.startswith(template):
            return name
    return "Other"


def parse_relations(text: str | None) -> list[str]:
    """Parse a comma-separated `--relations` value; any spelling `lookup_relation` knows."""
    if not text:
        return list(RELATION_NAMES)
    out: list[str] = []
    for part in text.split(","):
        if not part.strip():
            continue
        name = lookup_relation(part)
        if name is None:
            raise BadInput(f"unknown relation {part.strip()!r}; known: {', '.join(RELATION_NAMES)}")
        if name not in out:
            out.append(name)
    if not out:
        raise BadOption("{relations} names no relation")
    return out
