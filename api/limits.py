"""Query-cost limits beyond strawberry's built-ins.

strawberry 0.289's async execution parses without the `max_tokens` that MaxTokensLimiter sets
(only its sync path passes it), so a validation rule counts the tokens too.
"""

from __future__ import annotations

from graphql import GraphQLError, ValidationRule
from graphql.language import DocumentNode, Lexer, TokenKind


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
