"""LLaVA output -> stored text, one normaliser for the generation stage and for imported MIND output.

An intention answer is a paragraph ("The potential co-buy intention for these two products could
be that they are both ... . The Classic Aviator Hat ..."), often cut mid-sentence by
max_new_tokens. What search and the graph need is the clause that states the intention, so
`normalize_intention` keeps the whole answer as `raw_text` and returns that clause as `text`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# --- chat artefacts ------------------------------------------------------------------------------

_ROLE = re.compile(r"^\s*(?:</?s>|<\|?\w+\|?>|#+|\b(?:assistant|answer|output|response|gpt)\s*:)\s*", re.I)
_NEXT_TURN = re.compile(r"\s(?:USER|Human|###)\s*:", re.I)
_SPACES = re.compile(r"[^\S\n]+")
_BREAKS = re.compile(r"\s*\n\s*")
_QUOTES = "\"'"

# --- the lead-in, in every form met in real output ----------------------------------------------
# "The potential co-buy intention could be that ...", "... for these two (Casio) watches ...",
# "... for people purchasing/buying these two products simultaneously ...", "... for the A and
# the B could be ...", "... for the two products, the A and the B, could be ...", plus the forms
# our own prompt invites ("... could be they both can ...", "... could be: ...") and those other
# chat models write ("A possible co-buying intention is ...", "Co-buy intention: ...", a "Sure,"
# or "Based on the images," in front).
_PREAMBLE = (
    r"(?:(?:sure|okay|ok|certainly)\s*[,.!:]\s*"
    r"|(?:based\s+on|given|considering|looking\s+at)\s+[^,.\n]{1,120},\s*)*"
)
_SUBJECT = (
    r"(?:(?:the|a|one|another|my)\s+)?(?:(?:most\s+)?(?:potential|possible|likely|probable|main)\s+)?"
    r"co[-\s]?(?:buy(?:ing|er)?|purchas(?:e|ing))\s+intentions?"
)
# What the intention is "for": these two products, people purchasing A and B simultaneously, ...
# Product names may hold anything ("U.S. Polo Assn.", '8.0"', "&copy;"), so only the length is bounded.
_QUALIFIER = r"(?:\s*,?\s+(?:for|of|behind|between|among|when|in)\b.{1,320}?)?"
_VERB = (
    r"(?:,?\s+(?:could|would|might|may|can)(?:\s+(?:possibly|potentially|likely|also|well))?\s+be\b"
    r"|(?<!\bwho)(?<!\bthat)(?<!\bwhich)\s+(?:is|are)\b|\s*:)"
)
_LEAD = re.compile(r"^\s*" + _PREAMBLE + _SUBJECT + _QUALIFIER + _VERB + r"\s*[:,\-]?\s*(?:that\b\s*)?", re.I | re.S)

# --- sentence ends --------------------------------------------------------------------------------
# A terminator (closing quotes/brackets allowed) before a capital, digit or opening quote, or a
# line break. Abbreviations are told apart by the word before the period (see _is_abbreviation).
_END = re.compile(r"(?P<stop>[.!?]+)(?P<close>[\"'\u201d\u2019)\]]*)(?=\s+[\"'\u201c\u2018(\[]?[A-Z0-9])|\s*\n\s*")
# Titles always precede a name; the other abbreviations (and initials, "U.S.", "50 ft.") end a
# sentence only when a word that usually opens one follows ("... Backpack Style C. The toy ...").
_TITLES = frozenset("mr mrs ms dr st prof mt sr jr vs e.g i.e cf".split())
_ABBREVIATIONS = frozenset("assn co inc corp ltd dept approx no vol fig ca est".split())
_UNITS = frozenset("in ft oz lb lbs mm cm kg".split())
_SENTENCE_OPENERS = frozenset(
    "the this these those they it its their there both each a an he she we you i people customers consumers "
    "buyers users parents additionally however therefore together by on while although though if overall "
    "furthermore moreover also in as for since so ultimately similarly instead alternatively finally "
    "whether when with".split()
)
_WORD_BEFORE = re.compile(r"(\S+)$")

# --- length --------------------------------------------------------------------------------------
MAX_CHARS = 300  # a first sentence longer than this is cut at a clause boundary
_MIN_CUT = 60  # never cut a long sentence shorter than this
# Where a long sentence may end, best first: a clause boundary, then any comma.
_CUTS = (
    re.compile(r";\s|\s[-\u2013\u2014]\s|,\s+(?:which|as|while|whereas|since|because|so|making|allowing|"
               r"ensuring|providing|enabling|offering|creating|giving|helping|but)\b"),
    re.compile(r",\s"),
)
_DANGLING = re.compile(
    r"(?:[\s,;:\-\u2013\u2014]+|\s+(?:and|or|but|the|a|an|of|to|for|with|as|in|on|by|their|its|that|which))+$",
    re.I,
)
_TRAILING = re.compile(r"[\s,;:\-\u2013\u2014.]+$")
_DOTTED_END = re.compile(r"(?:^|\s)(?:[A-Za-z]\.)+[A-Za-z]$")  # "U.S" once the final period went

# A sentence-initial capital on one of these is only sentence case; any other first word may be
# a name ("Casio watches are ...") and keeps its case.
_OPENERS = frozenset(
    "they the both a an these this those it its their there someone somebody anyone people customers "
    "customer consumers consumer buyers buyer users user shoppers shopper parents individuals fans he "
    "she one each to for as being having".split()
)


def strip_artefacts(text: str) -> str:
    """Chat-template debris never belongs to the answer: tokens, role prefixes, the next turn."""
    return _unquote(" ".join(_strip(text).split()))


def _unquote(text: str) -> str:
    """Quotes around the whole answer go; a closing one alone stays (`the "HK Clip"`, `1/4"`, `brand'`)."""
    while True:
        text = text.strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
            text = text[1:-1]
        elif text and text[0] in _QUOTES and text[0] not in text[1:]:
            text = text[1:]  # the answer opened a quote it never closed
        else:
            return text


def _strip(text: str) -> str:
    """strip_artefacts without the whitespace collapse, so paragraph breaks survive for cutting."""
    text = text.replace("</s>", " ").replace("<s>", " ").strip()
    cut = _NEXT_TURN.search(text)
    if cut:
        text = text[: cut.start()]
    while True:
        new = _ROLE.sub("", text, count=1)
        if new == text:
            break
        text = new
    return text


@dataclass(frozen=True)
class NormalizedIntention:
    text: str  # the clause stating the intention, what search shows and embeds
    raw_text: str  # the whole answer, chat artefacts off: nothing the model said is lost


def normalize_intention(raw: str, template: str = "") -> NormalizedIntention:
    """Text reads as the clause after "because": lead-in and later sentences off, the template
    where the model wrote it, a sentence capital lowered only on common openers (names keep case)."""
    raw_text = strip_artefacts(raw or "")
    body = _unquote(html.unescape(_BREAKS.sub("\n", _SPACES.sub(" ", _strip(raw or "")))).strip())
    while True:
        new = _unquote(_LEAD.sub("", body, count=1).strip())
        if new == body:
            break
        body = new
    text = _shorten(_first_sentence(body.lstrip(" \n.,;:")))
    if not text:
        return NormalizedIntention(raw_text, raw_text)
    return NormalizedIntention(_first_letter(text, template), raw_text)


def _first_sentence(text: str) -> str:
    for match in _END.finditer(text):
        if match.start() == 0:
            continue  # a break before anything was said
        stop = match.group("stop")
        if stop and stop.startswith(".") and not stop.startswith(".."):
            following = text[match.end():].split(None, 1)
            if _is_abbreviation(text[: match.start()], following[0] if following else ""):
                continue
        return text[: match.start()] + (match.group("close") or "")
    return text


def _is_abbreviation(before: str, after: str) -> bool:
    """'U.S. Polo', 'Mr. Daddy', 'N. Clark', '50 ft. White' end no sentence; 'Style C. The' does."""
    found = _WORD_BEFORE.search(before)
    if not found:
        return False
    word = found.group(1).lstrip("\"'(\u201c\u2018[")
    key = word.lower()
    if key in _TITLES:
        return True
    if after.strip("\"'(\u201c\u2018[,").lower() in _SENTENCE_OPENERS:
        return False
    if len(word) == 1 and word.isalpha():
        return True  # an initial
    if "." in word and all(part.isalpha() and len(part) <= 3 for part in word.split(".")):
        return True  # U.S, I.D
    if key in _ABBREVIATIONS:
        return True
    if key in _UNITS:
        rest = before[: found.start()].rstrip()
        return bool(rest) and rest[-1].isdigit()
    return False


def _shorten(text: str) -> str:
    """A sentence too long to read in a result list is cut where a clause ends, else between words."""
    text = " ".join(text.split())
    if len(text) > MAX_CHARS:
        window = text[: MAX_CHARS + 1]
        cut = -1
        for pattern in _CUTS:
            cuts = [m.start() for m in pattern.finditer(window) if m.start() >= _MIN_CUT]
            if cuts:
                cut = cuts[-1]
                break
        if cut < 0:
            cut = window.rfind(" ")
        if cut < _MIN_CUT:  # no space early enough: keep the long token whole rather than split it
            space = text.find(" ", MAX_CHARS)
            cut = len(text) if space < 0 else space
        text = _DANGLING.sub("", text[:cut])
    text = _TRAILING.sub("", text)
    return text + "." if _DOTTED_END.search(text) else text


def _first_letter(text: str, template: str) -> str:
    if template and text.lower().startswith(template.lower()) and not text[len(template):][:1].isalnum():
        return template + text[len(template):]
    first = text.split(" ", 1)[0]
    word = first.rstrip(",;:")
    if word[:1].isupper() and word[1:].islower() and word.lower() in _OPENERS:
        return text[0].lower() + text[1:]
    return text


def normalize_features(raw: str) -> str:
    """Stage-1 descriptions are facts about the product: all of it is kept, only debris goes."""
    return " ".join(html.unescape(strip_artefacts(raw or "")).split())


# --- the filter's answer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    status: str  # ACCEPTED | REJECTED | UNDECIDED
    rationale: str


_ANSWER = re.compile(r"\b(yes|no)\b", re.I)
_LEAD_WORDS = 8  # a yes/no further in than this is not the answer
_RATIONALE_START = re.compile(r"^[\s,.;:!\-\u2013\u2014]+")


def parse_verdict(raw: str) -> Verdict:
    """'Yes, ...' / 'No. ...' with leading words tolerated ('Answer: yes', 'I would say no')."""
    text = strip_artefacts(raw or "")
    head = " ".join(text.split()[:_LEAD_WORDS])
    found = list(_ANSWER.finditer(head))
    if not found:
        return Verdict("UNDECIDED", "")
    kinds = {m.group(1).lower() for m in found}
    first = found[0]
    if len(kinds) > 1 and not _ends_clause(head, first):
        return Verdict("UNDECIDED", "")  # "yes and no", "not yes or no"
    # whitespace is already collapsed, so the answer word sits at the same offset in text and head
    rationale = _RATIONALE_START.sub("", text[first.end():]).strip()
    if rationale:
        rationale = rationale[0].upper() + rationale[1:]
    status = "ACCEPTED" if first.group(1).lower() == "yes" else "REJECTED"
    return Verdict(status, rationale)


def _ends_clause(head: str, match: re.Match) -> bool:
    """'No, ... yes ...' is a clear no: the first answer word is followed by punctuation."""
    return head[match.end():match.end() + 1] in {",", ".", ";", ":", "!"}
