"""`mind cypher`: one user statement, run as given (it is the user's own query), rows as JSON."""

from __future__ import annotations

from neo4j import Driver
from neo4j import exceptions as neo4j_errors

from graph.serialize import to_jsonable
from mindkb.errors import BadInput

MAX_ROWS = 100_000


def run_user_statement(driver: Driver, database: str, statement: str, parameters: dict | None = None) -> dict:
    if not statement.strip():
        raise BadInput("empty Cypher statement")
    try:
        with driver.session(database=database) as session:
            result = session.run(statement, parameters or {})
            keys = list(result.keys())
            rows: list[dict] = []
            for record in result:
                if len(rows) >= MAX_ROWS:
                    raise BadInput(f"the statement returned more than {MAX_ROWS} rows; add a LIMIT")
                rows.append({k: to_jsonable(record[k]) for k in keys})
            summary = result.consume()
    except neo4j_errors.ClientError as exc:
        message = (exc.message or str(exc)).strip().splitlines()[0]
        raise BadInput(f"Cypher error ({exc.code}): {message}") from None
    return {"columns": keys, "rows": rows, "counters": {k: v for k, v in vars(summary.counters).items()
                                                         if isinstance(v, int) and v and not k.startswith("_")}}
