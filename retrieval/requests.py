"""What a search or a recommendation asks for, with every user-facing bound stated once.

The API builds these from a GraphQL request and the evaluation from a question; a value out of
bounds is refused with one line that names the argument as the API spells it (`contextAsin`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from mindkb.ids import ASIN_MAX
from mindkb.relations import RELATION_NAMES
from mindkb.sources import parse_sources

K_MAX = 100  # results of one search or recommendation
TEXT_MAX = 1000  # characters of a query text
CANDIDATES_MAX = 100  # asins a recommendation may be restricted to
ACCEPTED = ("ACCEPTED",)


def request_problem(error: ValidationError) -> str:
    """The first problem of a refused request as one line (the checks' own message when they have one)."""
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    where = ".".join(to_camel(str(part)) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def check_text(value: str, name: str) -> str:
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    if len(value) > TEXT_MAX:
        raise ValueError(f"{name} is longer than {TEXT_MAX} characters")
    return value


def check_asin(value: str, name: str) -> str:
    if not value.strip() or len(value) > ASIN_MAX:
        raise ValueError(f"{name} must be 1 to {ASIN_MAX} characters")
    return value


def check_k(value: int, name: str = "k") -> int:
    if not 1 <= value <= K_MAX:
        raise ValueError(f"{name} must be between 1 and {K_MAX}")
    return value


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = 10
    sources: tuple[str, ...] | None = None

    @field_validator("k")
    @classmethod
    def _k(cls, value: int, info: ValidationInfo) -> int:
        return check_k(value, str(info.field_name))

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, value: list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
        """Blanks and repeats dropped; None: every source but noise (mindkb/sources.py)."""
        kept = parse_sources(list(value) if value is not None else None)
        return tuple(kept) if kept is not None else None

    @property
    def source_list(self) -> list[str] | None:
        return list(self.sources) if self.sources is not None else None


class SearchRequest(_Request):
    """Vector search over intentions: the best `k` near `text`, ACCEPTED ones unless `all_statuses`."""

    text: str
    relation: str | None = None
    all_statuses: bool = False

    @field_validator("text")
    @classmethod
    def _text(cls, value: str, info: ValidationInfo) -> str:
        return check_text(value, str(info.field_name))

    @field_validator("relation")
    @classmethod
    def _relation(cls, value: str | None) -> str | None:
        if value is not None and value not in RELATION_NAMES:
            raise ValueError(f"unknown relation {value!r}")
        return value

    @property
    def statuses(self) -> list[str] | None:
        return None if self.all_statuses else list(ACCEPTED)


class RecommendRequest(_Request):
    """Products for a purchase intention, optionally beside a product already chosen (`context_asin`)
    and among given `candidates`."""

    intention: str
    context_asin: str | None = None
    candidates: tuple[str, ...] | None = None

    @field_validator("intention")
    @classmethod
    def _intention(cls, value: str, info: ValidationInfo) -> str:
        return check_text(value, str(info.field_name))

    @field_validator("context_asin")
    @classmethod
    def _context(cls, value: str | None) -> str | None:
        return None if value is None else check_asin(value, "contextAsin")

    @field_validator("candidates")
    @classmethod
    def _candidates(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value or len(value) > CANDIDATES_MAX:
            raise ValueError(f"candidates must list 1 to {CANDIDATES_MAX} asins")
        for asin in value:
            check_asin(asin, "candidates")
        return tuple(dict.fromkeys(value))
