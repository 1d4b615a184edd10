"""A query-cost limit: the answer's estimated size, computed before anything runs.

Depth and alias limits leave wide answers possible: 20 aliases of one search with k 100, each hit's
products with 100 co-buys each, is 1.5 KB of query and millions of values (a 9 MB answer, seconds
of the event loop). The estimate counts every field once per list item it sits in; a list's size
is its `first`/`k` argument (a variable's value, else the argument's default) or the bound the
schema knows for it (`list_size`). Fragments are costed once each (they cannot form cycles: that
is validated first). Introspection (`__schema`, `__type`) answers about the fixed schema and counts
as one value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    value_from_ast,
    value_from_ast_untyped,
)
from graphql.execution import ExecutionResult
from strawberry.extensions import SchemaExtension

# (parent type, field, its page argument's value or None, the enclosing connection's page or None) -> items
ListSize = Callable[[str, str, "int | None", "int | None"], int]
PAGE_ARGUMENTS = ("first", "k")


class _Estimate:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any],
                 list_size: ListSize, limit: int):
        self.schema, self.variables, self.list_size, self.limit = schema, variables, list_size, limit
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.fragment_costs: dict[tuple[str, int | None], int] = {}

    def selection_set(self, node: SelectionSetNode | None, parent: GraphQLObjectType, page: int | None) -> int:
        total = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                on = self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                total += self.selection_set(selection.selection_set, on if isinstance(on, GraphQLObjectType)
                                            else parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
            if total > self.limit:  # enough to refuse; stop counting
                return total
        return total

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.fragment_costs:
            definition = self.fragments.get(name)
            on = self.schema.get_type(definition.type_condition.name.value) if definition else None
            self.fragment_costs[key] = (self.selection_set(definition.selection_set, on, page)
                                        if definition is not None and isinstance(on, GraphQLObjectType) else 0)
        return self.fragment_costs[key]

    def field(self, node: FieldNode, parent: GraphQLObjectType, page: int | None) -> int:
        name = node.name.value
        definition = parent.fields.get(name)
        if name.startswith("__") or definition is None:
            return 1
        own_page = self.page_argument(node, definition)
        kind, is_list = definition.type, False
        while isinstance(kind, (GraphQLNonNull, GraphQLList)):
            is_list = is_list or isinstance(kind, GraphQLList)
            kind = kind.of_type
        items = max(1, self.list_size(parent.name, name, own_page, page)) if is_list else 1
        if not isinstance(kind, GraphQLObjectType) or node.selection_set is None:
            return items
        inner = own_page if own_page is not None and not is_list else None
        return 1 + items * self.selection_set(node.selection_set, kind, inner)

    def page_argument(self, node: FieldNode, definition: GraphQLField) -> int | None:
        """The field's `first`/`k`: as given (literal or variable), else its default; None without one."""
        given = {arg.name.value: arg.value for arg in node.arguments or ()}
        for name in PAGE_ARGUMENTS:
            argument = definition.args.get(name)
            if argument is None:
                continue
            if name in given:
                value = value_from_ast(given[name], argument.type, self.variables)
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
            return argument.default_value if isinstance(argument.default_value, int) else None
        return None


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def estimated_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                   variables: dict[str, Any] | None, list_size: ListSize, limit: int) -> int:
    """Values the operation may answer with (counting stops a little past `limit`)."""
    operation = operation_of(document, operation_name)
    if operation is None:
        return 0  # graphql-core reports the missing or ambiguous operation itself
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    variables = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in variables and definition.default_value is not None:
            variables[name] = value_from_ast_untyped(definition.default_value)
    return _Estimate(schema, document, variables, list_size, limit).selection_set(operation.selection_set, root, None)


class QueryCost(SchemaExtension):
    """Refuses, before execution, an operation whose estimated answer exceeds `max_cost` values.

    strawberry creates an extension given as a class for each request (`query_cost` makes one);
    a shared instance would read another request's context once this one has awaited anything.
    """

    max_cost: int
    list_size: ListSize

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.result is None:
            cost = estimated_cost(ctx.schema._schema, ctx.graphql_document, ctx.operation_name, ctx.variables,
                                  type(self).list_size, self.max_cost)
            if cost > self.max_cost:
                ctx.result = ExecutionResult(data=None, errors=[GraphQLError(
                    f"Query is too expensive: its answer could hold more than {self.max_cost} values "
                    "(MIND_API_MAX_COST); ask for fewer items (first, k) or fewer nested lists.")])
        yield


def query_cost(max_cost: int, list_size: ListSize) -> type[QueryCost]:
    """The QueryCost extension class for these bounds."""
    return type("BoundedQueryCost", (QueryCost,), {"max_cost": max_cost, "list_size": staticmethod(list_size)})
