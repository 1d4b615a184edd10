"""Input checks of the GraphQL arguments and the cursor codec.

The bounds of a search or a recommendation are the request models' (retrieval/requests.py, shared
with the evaluation); the ones only the API has (a page's `first`, a curator's note) are here. A
refused value becomes one UserError line that names the argument as the schema spells it.
"""

from __future__ import annotations

import base64
from typing import Annotated, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError

from api.errors import UserError
from mindkb.sources import parse_sources
from retrieval.requests import check_asin, request_problem

FIRST_MAX = 100  # items of one connection page
NOTE_MAX = 1000  # characters of a curator's note
ID_MAX = 128  # characters of an intention id
CURSOR_MAX = 256  # characters of a cursor

M = TypeVar("M", bound=BaseModel)

Sources = Annotated[list[str] | None, strawberry.argument(
    description="Only intentions of these sources (e.g. mind-csv); null: every source but `noise`, the output of "
                "a model with random weights, which is left out unless named.")]


def checked(model: type[M], **values: object) -> M:
    """`model` built from the arguments; UserError with the first problem's one line otherwise."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise UserError(request_problem(exc)) from None


def first(value: int) -> int:
    if not 1 <= value <= FIRST_MAX:
        raise UserError(f"first must be between 1 and {FIRST_MAX}")
    return value


def asin(value: str, name: str = "asin") -> str:
    try:
        return check_asin(value, name)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def sources(names: list[str] | None) -> tuple[str, ...] | None:
    """The `sources` argument, checked (mindkb/sources.py); a tuple, so that it can key a DataLoader."""
    try:
        kept = parse_sources(names)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return tuple(kept) if kept is not None else None


def intention_id(value: str) -> str:
    if not value.strip() or len(value) > ID_MAX:
        raise UserError(f"id must be 1 to {ID_MAX} characters")
    return value


def note(value: str | None) -> str | None:
    if value is not None and len(value) > NOTE_MAX:
        raise UserError(f"note is longer than {NOTE_MAX} characters")
    return value


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    if not raw.startswith("k:") or len(cursor) > CURSOR_MAX:
        raise UserError("invalid cursor")
    return raw[2:]
