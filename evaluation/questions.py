"""IntentionQA questions (tasks 1 and 2) read from the benchmark's JSON lines.

Task 1: a co-buy pair (item A, item B); options A-D are intentions ("because they both ...").
Task 2: item A and an intention (the assertion); options A-D are product names. The gold option
is item B; a distractor is the product keyed by its name (mindkb.ids.named_product_asin).
The benchmark's `relation` is usually "all", so the relation of a question is read from the
intention's template (mindkb.relations, as `mind import intentions` does).
Questions with fewer than 4 options are skipped, as in the benchmark's own scorer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.reader import Limits
from ingest.table import JsonLines
from mindkb.errors import BadInput, BadOption
from mindkb.ids import named_product_asin, valid_asin
from mindkb.quarantine import Quarantine
from mindkb.relations import BY_NAME, relation_from_text
from mindkb.text import clean_text

LETTERS = ("A", "B", "C", "D")
MAX_LINE_BYTES = 1_000_000
MAX_TEXT_CHARS = 5_000


class QuestionError(ValueError):
    """A line that is not a usable question; the message is the quarantine reason."""


@dataclass(frozen=True)
class Question:
    id: str
    task: int
    asin_a: str
    asin_b: str
    name_a: str
    name_b: str
    intention: str  # the assertion's clause after "because"
    relation: str
    options: dict[str, str]
    gold: str
    option_asins: dict[str, str | None] = field(default_factory=dict)  # task 2 only

    @property
    def complete(self) -> bool:
        return len(self.options) >= 4


def strip_because(text: str) -> str:
    """'because they both ...' -> 'they both ...' (the form intentions are stored in)."""
    text = " ".join(str(text).split())
    cut = text.lower().find("because ")
    return text[cut + len("because "):].strip() if cut >= 0 else text


def _str(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise QuestionError(f"missing or empty {key}")
    if len(value) > MAX_TEXT_CHARS:
        raise QuestionError(f"{key} longer than {MAX_TEXT_CHARS} characters")
    return " ".join(value.split())


def parse_question(data: object, task: int) -> Question:
    if not isinstance(data, dict):
        raise QuestionError("not a JSON object")
    asins = []
    for key in ("item_a_id", "item_b_id"):
        asin = valid_asin(data.get(key))
        if asin is None:
            raise QuestionError(f"missing or invalid {key}")
        asins.append(asin)
    options = data.get("options")
    if not isinstance(options, dict) or not options:
        raise QuestionError("missing options")
    clean: dict[str, str] = {}
    for letter, text in options.items():
        if letter not in LETTERS or not isinstance(text, str) or not text.strip():
            raise QuestionError(f"bad option {str(letter)[:5]!r}")
        clean[letter] = " ".join(text.split())[:MAX_TEXT_CHARS]
    gold = data.get("gold_ind")
    if gold not in clean:
        raise QuestionError(f"gold_ind {str(gold)[:5]!r} is not an option")
    intention = strip_because(_str(data, "assertion"))
    relation = data.get("relation")
    relation = relation if relation in BY_NAME else relation_from_text(intention)
    q = Question(str(data.get("id") or ""), task, asins[0], asins[1], _str(data, "item_a_name"),
                 _str(data, "item_b_name"), intention, relation, dict(sorted(clean.items())), gold)
    if task == 2:
        object.__setattr__(q, "option_asins", _option_asins(data, q))
    return q


def _option_asins(data: dict, q: Question) -> dict[str, str | None]:
    """Gold option -> item B; a distractor -> the product keyed by its name, as
    `mind import intentions --format intentionqa` loads it (the file's distractors_id do not
    match the names, see mindkb.ids.named_product_asin)."""
    return {letter: (q.asin_b if letter == q.gold else named_product_asin(clean_text(text) or text))
            for letter, text in q.options.items()}


@dataclass
class Loaded:
    questions: list[Question]
    skipped: int  # fewer than 4 options
    quarantined: int


def read_questions(path: Path, task: int, quarantine: Quarantine, limit: int | None = None) -> Loaded:
    """Complete questions in file order (up to `limit`); short ones counted, bad lines quarantined."""
    if task not in (1, 2):
        raise BadOption("{task} must be 1 or 2")
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    out: list[Question] = []
    skipped = 0
    for record in JsonLines(path, Limits(MAX_LINE_BYTES, MAX_LINE_BYTES)):
        if limit is not None and len(out) >= limit:
            break
        try:
            if record.error:
                raise QuestionError(record.error)
            q = parse_question(record.data, task)
        except QuestionError as exc:
            quarantine.add(path, record.line, str(exc), record.raw)
            continue
        if q.complete:
            out.append(q)
        else:
            skipped += 1
    quarantine.flush()
    return Loaded(out, skipped, quarantine.count)

