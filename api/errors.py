"""Errors a client caused: shown to it as GraphQL errors; anything else is masked."""

from __future__ import annotations

from graphql import GraphQLError

from graph.aio import GraphUnavailable


class UserError(Exception):
    """Bad input or a refused operation; its message is safe to show."""


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions (no internals leak); keep validation and user errors readable."""
    original = error.original_error
    return original is not None and not isinstance(original, (UserError, GraphQLError, GraphUnavailable))
