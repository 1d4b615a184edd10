"""Model output -> stored text: intention cleaning and the filter's yes/no parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ROLE = re.compile(r"^\s*(?:</?s>|<\|?\w+\|?>|#+|\b(?:assistant|answer|output|response|gpt)\s*:)\s*", re.I)
_NEXT_TURN = re.compile(r"\s(?:USER|Human|###)\s*:", re.I)
_LEAD = re.compile(
    r"^\s*(?:the\s+)?potential\s+co-?\s?buy(?:ing)?\s+intention\s+(?:could|would|might)\s+be\s*[:,]?\s*", re.I
)


def _strip_artefacts(text: str) -> str:
    text = text.replace("</s>", " ").replace("<s>", " ").strip()
    cut = _NEXT_TURN.search(text)
    if cut:
        text = text[: cut.start()]
    while True:
        new = _ROLE.sub("", text, count=1)
        if new == text:
            break
        text = new
    return " ".join(text.split()).strip(" \"'")


def clean_intention(raw: str, template: str) -> str:
    """Drop chat artefacts and repeated lead-ins; the result begins with the relation's template."""
    text = _strip_artefacts(raw)
    while True:
        new = _LEAD.sub("", text, count=1).strip(" \"'")
        if new == text:
            break
        text = new
    if not template:
        return text
    if text.lower().startswith(template.lower()):
        return template + text[len(template):]
    return (template + " " + text).strip()


@dataclass(frozen=True)
class Verdict:
    status: str  # ACCEPTED | REJECTED | UNDECIDED
    rationale: str


_ANSWER = re.compile(r"\b(yes|no)\b", re.I)
_LEAD_WORDS = 8  # a yes/no further in than this is not the answer


def parse_verdict(raw: str) -> Verdict:
    """'Yes, ...' / 'No, ...' with leading words tolerated ('Answer: yes', 'I would say no')."""
    text = _strip_artefacts(raw)
    head = " ".join(text.split()[:_LEAD_WORDS])
    found = [m for m in _ANSWER.finditer(head)]
    if not found:
        return Verdict("UNDECIDED", "")
    kinds = {m.group(1).lower() for m in found}
    first = found[0]
    if len(kinds) > 1 and not _ends_clause(head, first):
        return Verdict("UNDECIDED", "")  # "yes and no", "not yes or no"
    # the position of the first answer word in the full text equals its position in head
    rest = text[first.end():]
    rationale = re.sub(r"^[\s,.;:!\-\u2013\u2014]+", "", rest).strip()
    if rationale:
        rationale = rationale[0].upper() + rationale[1:]
    status = "ACCEPTED" if first.group(1).lower() == "yes" else "REJECTED"
    return Verdict(status, rationale)


def _ends_clause(head: str, match: re.Match) -> bool:
    """'No, ... yes ...' is a clear no: the first answer word is followed by punctuation."""
    after = head[match.end():match.end() + 1]
    return after in {",", ".", ";", ":", "!"}
