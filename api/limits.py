"""Query-cost limits beyond strawberry's built-ins (and checks that must run before them).

strawberry 0.289's async execution parses without the `max_tokens` that MaxTokensLimiter sets
(only its sync path passes it), so a validation rule counts the tokens too.
"""

from __future__ import annotations

from collections import OrderedDict

from graphql import GraphQLError, NoFragmentCyclesRule, Source, ValidationRule, parse, validate
from graphql.language import DocumentNode, Lexer, TokenKind
from strawberry.extensions import SchemaExtension


def token_limit_rule(max_tokens: int) -> type[ValidationRule]:
    class TokenLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args) -> None:
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


class BoundedDocument(SchemaExtension):
    """Refuse an over-long document before it is parsed and validated, and parse and validate each
    distinct document once.

    Validation is not linear in the document (overlapping-field checks are quadratic), so 50,000
    copies of one field would keep a worker busy for minutes; counting tokens first costs at most
    `max_tokens` lexer steps. The parse is skipped with a placeholder document and validation with
    the error, which strawberry then returns as a normal GraphQL error.

    Clients send the same few documents with different variables; parsing and validating one
    (depth, aliases, tokens, fragment cycles) costs milliseconds, so the parsed document and its
    validation result are kept per query text in a bounded LRU (validation does not depend on the
    variables; only documents within the token limit are kept).
    """

    PLACEHOLDER = "{ __typename }"

    def __init__(self, max_tokens: int, cache_size: int = 256):
        super().__init__()
        self.max_tokens = max_tokens
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[DocumentNode, list[GraphQLError] | None]] = OrderedDict()
        self._too_long = False
        self._cached: tuple[DocumentNode, list[GraphQLError] | None] | None = None

    def on_parse(self):
        ctx = self.execution_context
        self._cached = self._cache.get(ctx.query) if ctx.query else None
        if self._cached is not None:
            self._cache.move_to_end(ctx.query)
            self._too_long = False
            ctx.graphql_document = self._cached[0]
            yield
            return
        self._too_long = bool(ctx.query) and count_tokens(ctx.query, self.max_tokens) > self.max_tokens
        if self._too_long:
            ctx.graphql_document = parse(self.PLACEHOLDER)
        yield

    def on_validate(self):
        ctx = self.execution_context
        if self._cached is not None and self._cached[1] is not None:
            ctx.pre_execution_errors = self._cached[1]  # validation skipped: this text was validated before
            yield
            return
        if self._too_long:
            ctx.pre_execution_errors = [GraphQLError(
                f"Document contains more than {self.max_tokens} tokens (limit exceeded).")]
        elif ctx.graphql_document is not None:
            # The depth limiter follows fragment spreads as it is built and would recurse forever
            # on a cycle; graphql-core's own rule reports it first, in linear time.
            cycles = validate(ctx.schema._schema, ctx.graphql_document, [NoFragmentCyclesRule])
            if cycles:
                ctx.pre_execution_errors = cycles
        yield
        if not self._too_long and ctx.query and ctx.graphql_document is not None and self.cache_size > 0:
            self._cache[ctx.query] = (ctx.graphql_document, list(ctx.pre_execution_errors or []))
            self._cache.move_to_end(ctx.query)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
