"""Bounds on a GraphQL document before strawberry's own work, and the parse and validation off the event loop.

strawberry 0.289's async execution parses without the `max_tokens` that MaxTokensLimiter sets
(only its sync path passes it), so a validation rule counts the tokens too.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from graphql import GraphQLError, GraphQLSchema, NoFragmentCyclesRule, Source, ValidationRule, parse, validate
from graphql.language import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    InlineFragmentNode,
    Lexer,
    TokenKind,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# Memory of a parsed document per token (AST nodes and their token chain): graphql-core 3.2 takes
# 460 to 630 bytes a token on documents of 2,000 tokens; the cache weighs each entry with this.
PARSED_BYTES_PER_TOKEN = 650


def token_limit_rule(max_tokens: int) -> type[ValidationRule]:
    class TokenLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: object) -> None:
            if node.loc is None:
                return
            lexer, count = Lexer(node.loc.source), 0
            while lexer.advance().kind != TokenKind.EOF:
                count += 1
                if count > max_tokens:
                    self.report_error(GraphQLError(
                        f"Document contains more than {max_tokens} tokens (limit exceeded)."))
                    return

    return TokenLimit


def count_tokens(query: str, limit: int) -> int:
    """Tokens in `query`, counting no further than limit + 1 (cheap on any size of document)."""
    lexer, count = Lexer(Source(query)), 0
    try:
        while count <= limit and lexer.advance().kind != TokenKind.EOF:
            count += 1
    except GraphQLError:  # a syntax error: the parser will report it properly
        pass
    return count


def count_selections(document: DocumentNode, limit: int) -> int:
    """Fields, fragment spreads and inline fragments in the document, counting no further than limit + 1."""
    pending = [d.selection_set for d in document.definitions if isinstance(d, ExecutableDefinitionNode)]
    count = 0
    while pending and count <= limit:
        selection_set = pending.pop()
        for selection in selection_set.selections if selection_set else ():
            count += 1  # a field, a fragment spread or an inline fragment
            if isinstance(selection, (FieldNode, InlineFragmentNode)) and selection.selection_set:
                pending.append(selection.selection_set)
    return count


@dataclass(frozen=True)
class Prepared:
    """A query text parsed and validated: the document strawberry runs and the errors it reports."""

    document: DocumentNode
    errors: tuple[GraphQLError, ...]
    weight: int  # estimated bytes it holds in the cache; 0: not worth keeping


class BoundedDocument(SchemaExtension):
    """Refuse an over-long or over-wide document before it is validated, parse and validate each
    distinct document once, and do both on a worker thread.

    - `max_bytes`: a text longer than this is refused without reading it (the HTTP guard refuses
      it earlier still). `max_tokens`: counted by the lexer before parsing, which costs at most
      that many steps. `max_selections`: counted after parsing, before validation, whose
      overlapping-field check is quadratic in the fields of a selection set (1,990 `__typename`
      took 2.2 s; 200 selections stay in tens of milliseconds).
    - One thread does this work for the whole process: the event loop keeps serving cached
      documents and other requests while a new document is prepared, and a flood of new
      documents queues behind itself rather than in front of everyone.
    - Clients send the same few documents with different variables, so the parsed document and
      its validation result are kept per query text in an LRU bounded by count and by bytes (the
      text plus `PARSED_BYTES_PER_TOKEN` per token); validation does not depend on the variables.

    A refused document runs as a placeholder with the refusal as its validation error, which
    strawberry returns as a normal GraphQL error. Everything is done in `on_parse` with the request's
    own context: one instance serves every request, and strawberry points `execution_context` at
    the newest request, so it cannot be read again after an await.
    """

    PLACEHOLDER = "{ __typename }"

    def __init__(self, max_tokens: int, cache_size: int = 256, max_bytes: int = 20_000,
                 max_selections: int = 200, cache_bytes: int = 16 * 1024 * 1024):
        super().__init__()
        self.max_tokens, self.max_bytes, self.max_selections = max_tokens, max_bytes, max_selections
        self.cache_size, self.cache_bytes = cache_size, cache_bytes
        self._cache: OrderedDict[str, Prepared] = OrderedDict()
        self.cached_bytes = 0
        self.parsed = 0  # texts handed to the parser (the tests count them)
        self._placeholder = parse(self.PLACEHOLDER)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-documents")

    async def on_parse(self) -> AsyncIterator[None]:
        ctx = self.execution_context  # this request's, read before the first await
        query = ctx.query
        if query:
            prepared = self._cache.get(query)
            if prepared is not None:
                self._cache.move_to_end(query)
            elif len(query) > self.max_bytes or len(query.encode("utf-8", "replace")) > self.max_bytes:
                prepared = self._refused(f"Document is larger than {self.max_bytes} bytes (limit exceeded); "
                                         "send long texts as variables.")
            else:
                rules = tuple(ctx.validation_rules)
                prepared = await asyncio.get_running_loop().run_in_executor(
                    self._worker, self._prepare, ctx.schema._schema, query, rules)
                self._remember(query, prepared)
            ctx.graphql_document = prepared.document
            ctx.pre_execution_errors = list(prepared.errors)  # strawberry's own validation is skipped
        yield

    def _refused(self, message: str, weight: int = 0) -> Prepared:
        return Prepared(self._placeholder, (GraphQLError(message),), weight)

    def _prepare(self, schema: GraphQLSchema, query: str, rules: tuple) -> Prepared:
        """Count, parse and validate (on the worker thread)."""
        tokens = count_tokens(query, self.max_tokens)
        if tokens > self.max_tokens:
            return self._refused(f"Document contains more than {self.max_tokens} tokens (limit exceeded).")
        size = len(query.encode("utf-8", "replace")) + 64
        self.parsed += 1
        try:
            document = parse(query)
        except GraphQLError as error:
            return Prepared(self._placeholder, (error,), size)
        except RecursionError:
            return self._refused("Document is nested too deeply.", size)
        if count_selections(document, self.max_selections) > self.max_selections:
            return self._refused(f"Document selects more than {self.max_selections} fields and fragments "
                                 "(limit exceeded).", size)
        weight = size + PARSED_BYTES_PER_TOKEN * tokens
        # The depth limiter follows fragment spreads as it is built and would recurse forever on a
        # cycle; graphql-core's own rule reports it first, in linear time.
        errors = validate(schema, document, [NoFragmentCyclesRule])
        if not errors:
            errors = validate_document(schema, document, rules)
        return Prepared(document, tuple(errors), weight)

    def _remember(self, query: str, prepared: Prepared) -> None:
        if prepared.weight <= 0 or self.cache_size <= 0 or prepared.weight > self.cache_bytes:
            return
        old = self._cache.pop(query, None)
        if old is not None:
            self.cached_bytes -= old.weight
        self._cache[query] = prepared
        self.cached_bytes += prepared.weight
        while len(self._cache) > self.cache_size or self.cached_bytes > self.cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self.cached_bytes -= evicted.weight
