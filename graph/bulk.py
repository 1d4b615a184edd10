"""The bulk path into an empty database: CSV files for `neo4j-admin database import full`.

Loading a whole knowledge base through transactions pays for every HNSW insert at commit; the
offline importer writes the store directly, and the vector indexes are then built once over the
imported vectors (`load`). The CSVs hold the same graph the transactional writers produce:
Product {asin, ...} (graph/products.py), CO_BUY from the smaller asin to the larger,
Intention {id, ...} labelled with its relation name, EXPLAINS to both products, HAS_RELATION to
the Relation node (graph/intentions.py), PendingLink {key, from, to, source} (graph/ingest.py),
vectors as float32 lists (graph/embeddings.py). An empty list cannot be imported (it is left unset).
The incremental writers remain the path for updates.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graph import upgrade
from graph.driver import make_driver
from graph.localdb import ADMIN_TOOL, PRIVATE_UMASK, LocalNeo4j
from graph.maintenance import count_nodes
from graph.schema import apply_schema, await_indexes
from mindkb.errors import BadInput, MindError
from mindkb.relations import RELATIONS
from mindkb.settings import Settings

log = logging.getLogger(__name__)

# Between list elements: the unit separator, a control character no product text keeps (one inside
# an element becomes a space).
ARRAY_DELIMITER = "\x1f"
ARRAY_DELIMITER_ARG = "U+001F"
# Property types the importer understands (a value of `string[]` is a list of str).
TYPES = frozenset({"string", "int", "long", "float", "double", "boolean", "datetime",
                   "string[]", "int[]", "long[]", "float[]", "double[]"})
INTENTION_FIXED = ("id", "relation", "asinA", "asinB")


def _cell(value: object, kind: str) -> str | None:
    """One CSV field; None (an empty, unquoted field) leaves the property unset, as "" does in the
    transactional writers' rows."""
    if value is None or value == "":
        return None
    if kind.endswith("[]"):
        assert isinstance(value, Iterable), (kind, value)
        return ARRAY_DELIMITER.join(str(v).replace(ARRAY_DELIMITER, " ") for v in value) or None
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


def _joined(vectors: np.ndarray) -> pa.Array:
    """float32 rows as delimiter-joined text, each number the shortest that reads back as the same
    float32 (Arrow's cast, which runs without the GIL)."""
    flat = pc.cast(pa.array(vectors.ravel()), pa.string())
    offsets = pa.array(np.arange(0, len(flat) + 1, vectors.shape[1], dtype=np.int64))
    return pc.binary_join(pa.LargeListArray.from_arrays(offsets, flat), ARRAY_DELIMITER)


class _Cells:
    """A chunk's vector fields being formatted, one share of the rows per thread."""

    def __init__(self, pool: ThreadPoolExecutor, vectors: np.ndarray, shares: int):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._parts = [pool.submit(_joined, part) for part in np.array_split(vectors, shares) if len(part)]

    def result(self) -> pa.ChunkedArray:
        return pa.chunked_array([f.result() for f in self._parts], type=pa.string())


def _add_props(columns: dict[str, object], batch: list[dict], cols: Sequence[str], types: dict[str, str],
               cells: _Cells | None, model: str | None) -> None:
    """A chunk's property columns, then its vector and model columns when it has vectors."""
    for c in cols:
        columns[c] = pa.array([_cell(row["props"].get(c), types[c]) for row in batch], pa.string())
    if cells is not None:
        columns["embedding"] = cells.result()
        columns["embeddingModel"] = [model] * len(batch)


# Strings quoted (quotes doubled), nulls as empty unquoted fields; the header is written apart.
_ROWS = pacsv.WriteOptions(include_header=False, batch_size=4096)


def _append(fh: BinaryIO, columns: dict[str, object]) -> None:
    pacsv.write_csv(pa.table(columns), fh, _ROWS)


def _header(fh: BinaryIO, header: Sequence[str]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(header)
    fh.write(buf.getvalue().encode("utf-8"))


@dataclass
class BulkFiles:
    """A folder of import CSVs and the importer arguments that name them.

    Node files are written in chunks: each chunk's vectors are formatted by `threads` threads
    while its other columns are built, then written by Arrow's CSV writer (at 1.26M x 384 the
    Python csv module alone took about 85 s).
    """

    folder: Path
    args: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)

    def __post_init__(self) -> None:
        self.folder = self.folder.absolute()  # neo4j-admin runs in the server's home, not here
        self.folder.mkdir(parents=True, exist_ok=True)

    def _write(self, name: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
        path = self.folder / f"{name}.csv"
        n = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            for row in rows:
                out.writerow(row)
                n += 1
        self.counts[name] = n
        return n

    def _chunks(self, rows: Iterable[dict], vectors: np.ndarray | None, chunk: int, name: str,
                ) -> Iterator[tuple[list[dict], _Cells | None]]:
        """(rows, their vector fields or None) per chunk, the next chunk's vectors formatted while
        this one is written; more rows than vectors, or fewer, is an error."""
        if vectors is not None and vectors.ndim != 2:
            raise MindError(f"bulk {name}: vectors must be a 2-d array (rows x dimensions)")
        it = iter(rows)
        with ThreadPoolExecutor(self.threads) as pool:
            done = 0

            def take() -> tuple[list[dict], _Cells | None]:
                nonlocal done
                batch = list(itertools.islice(it, chunk))
                if vectors is not None and done + len(batch) > len(vectors):
                    raise MindError(f"bulk {name}: more rows than vectors ({len(vectors)})")
                cells = _Cells(pool, vectors[done:done + len(batch)], self.threads) \
                    if vectors is not None and batch else None
                done += len(batch)
                return batch, cells

            ahead = take()
            while ahead[0]:
                current, ahead = ahead, take()
                yield current
            if vectors is not None and done != len(vectors):
                raise MindError(f"bulk {name}: {done} rows but {len(vectors)} vectors")

    def products(self, rows: Iterable[dict], types: dict[str, str],
                 vectors: np.ndarray | None = None, model: str | None = None, chunk: int = 50_000) -> int:
        """rows: {asin, props}; `types` names every property kept and its importer type;
        `vectors[i]` (float32) is row i's embedding."""
        _check_types(types)
        cols = list(types)
        header = ["asin:ID(Product)", *(f"{c}:{types[c]}" for c in cols)]
        if vectors is not None:
            header += ["embedding:float[]", "embeddingModel:string"]
        n = 0
        with open(self.folder / "products.csv", "wb") as fh:
            _header(fh, header)
            for batch, cells in self._chunks(rows, vectors, chunk, "products"):
                columns: dict[str, object] = {"asin": [row["asin"] for row in batch]}
                _add_props(columns, batch, cols, types, cells, model)
                _append(fh, columns)
                n += len(batch)
        self.counts["products"] = n
        self.args.append(f"--nodes=Product={self.folder / 'products.csv'}")
        return n

    def co_buys(self, pairs: Iterable[tuple[str, str]], source: str) -> int:
        """pairs in pair_key order (smaller asin first), as graph.products.merge_co_buys stores them."""
        return self.co_buy_rows((a, b, source) for a, b in pairs)

    def co_buy_rows(self, rows: Iterable[tuple[str, str, str]]) -> int:
        """(smaller asin, larger asin, source) per CO_BUY edge."""
        n = self._write("co_buys", [":START_ID(Product)", ":END_ID(Product)", "source:string", "createdAt:datetime"],
                        ((a, b, source, self.created_at) for a, b, source in rows))
        self.args.append(f"--relationships=CO_BUY={self.folder / 'co_buys.csv'}")
        return n

    def intentions(self, rows: Iterable[dict], types: dict[str, str],
                   vectors: np.ndarray | None = None, model: str | None = None,
                   chunk: int = 50_000) -> int:
        """rows: {id, asinA, asinB, relation, props} as graph.intentions.merge_intentions takes them;
        `vectors[i]` is row i's embedding. Writes the nodes and their EXPLAINS and HAS_RELATION edges."""
        _check_types(types)
        cols = [c for c in types if c not in INTENTION_FIXED]
        header = ["id:ID(Intention)", ":LABEL", "relation:string", "asinA:string", "asinB:string",
                  "createdAt:datetime", *(f"{c}:{types[c]}" for c in cols)]
        if vectors is not None:
            header += ["embedding:float[]", "embeddingModel:string"]
        known = {r.name for r in RELATIONS}
        labels = {name: f"Intention{ARRAY_DELIMITER}{name}" for name in known}
        n = 0
        with (open(self.folder / "intentions.csv", "wb") as nodes, open(self.folder / "explains.csv", "wb") as explains,
              open(self.folder / "has_relation.csv", "wb") as has):
            _header(nodes, header)
            _header(explains, [":START_ID(Intention)", ":END_ID(Product)"])
            _header(has, [":START_ID(Intention)", ":END_ID(Relation)"])
            for batch, cells in self._chunks(rows, vectors, chunk, "intentions"):
                for row in batch:
                    if row["relation"] not in known:
                        raise MindError(f"intention {row['id']}: unknown relation {row['relation']!r}")
                ids = [row["id"] for row in batch]
                relation = [row["relation"] for row in batch]
                a = [row["asinA"] for row in batch]
                b = [row["asinB"] for row in batch]
                columns: dict[str, object] = {
                    "id": ids, "labels": [labels[r] for r in relation], "relation": relation,
                    "asinA": a, "asinB": b, "createdAt": [self.created_at] * len(batch)}
                _add_props(columns, batch, cols, types, cells, model)
                _append(nodes, columns)
                other = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
                _append(explains, {"start": ids + [ids[i] for i in other], "end": a + [b[i] for i in other]})
                _append(has, {"start": ids, "end": relation})
                n += len(batch)
        self.counts["intentions"] = n
        self.args += [f"--nodes=Intention={self.folder / 'intentions.csv'}",
                      f"--relationships=EXPLAINS={self.folder / 'explains.csv'}",
                      f"--relationships=HAS_RELATION={self.folder / 'has_relation.csv'}"]
        return n

    def pending_links(self, rows: Iterable[tuple[str, dict]]) -> int:
        """(key, {from, to, source}) per also_buy link still waiting for its target, as
        graph.ingest.link_also_buys leaves a `(:PendingLink {key, from, to, source})`."""
        n = self._write("pending_links", ["key:ID(PendingLink)", "from:string", "to:string", "source:string"],
                        ([key, link["from"], link["to"], link["source"]] for key, link in rows))
        self.args.append(f"--nodes=PendingLink={self.folder / 'pending_links.csv'}")
        return n

    def relations(self) -> int:
        """The 20 Relation nodes (apply_schema would add them, but HAS_RELATION needs them now)."""
        n = self._write("relations", ["name:ID(Relation)", "template:string", "paperAccepted:int", "ord:int"],
                        ([r.name, r.template, str(r.paper_accepted), str(i)] for i, r in enumerate(RELATIONS)))
        self.args.append(f"--nodes=Relation={self.folder / 'relations.csv'}")
        return n


def _check_types(types: dict[str, str]) -> None:
    bad = {k: v for k, v in types.items() if v not in TYPES}
    if bad:
        raise MindError(f"bulk import: unsupported property types {bad} (use one of {sorted(TYPES)})")


def run_import(settings: Settings, files: BulkFiles) -> str:
    """neo4j-admin database import full into the local server's database (the server stopped)."""
    local = LocalNeo4j(settings)
    java, lib = local.java(), local.ensure_jars()
    local.write_conf()
    upgrade.prepare_home(local)  # an older version's store: dumped before this version writes to it
    cmd = [java, f"-Xmx{settings.neo4j_heap}", *local.jvm_options(), "-cp", f"{lib}/*", ADMIN_TOOL, "database", "import", "full",
           settings.neo4j_database,  # before --nodes, whose file lists would take it as a file
           "--overwrite-destination=true", "--multiline-fields=true", f"--array-delimiter={ARRAY_DELIMITER_ARG}", "--id-type=string",
           "--skip-duplicate-nodes=false", "--bad-tolerance=0", f"--report-file={files.folder / 'import.report'}",
           f"--threads={os.cpu_count() or 2}", *files.args]
    env = dict(os.environ, NEO4J_HOME=str(local.home), NEO4J_CONF=str(local.conf_dir))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=local.home, umask=PRIVATE_UMASK)
    if proc.returncode != 0:
        # A half-written store would keep the server from starting: it starts empty instead.
        for folder in ("databases", "transactions"):
            shutil.rmtree(local.home / "data" / folder / settings.neo4j_database, ignore_errors=True)
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines()
                 if line.strip() and not line.startswith("WARNING")]
        at = next((i for i, line in enumerate(lines) if "rror" in line or "xception" in line), len(lines) - 1)
        reason = " ".join(lines[max(at, 0):at + 2]) or "no output"
        raise MindError(f"neo4j-admin import failed (the database is left empty): {reason[:400]}")
    upgrade.record_version(local.home, settings.neo4j_version)  # the store this version's importer wrote
    return proc.stdout


REMOTE_REASON = ("the bulk import writes the local server's store: unset NEO4J_URI (or point it at "
                 "the `mind db start` server); load a remote server with the incremental commands")


def refuse_unless_empty(settings: Settings) -> None:
    """BadInput unless the settings name the local server and its database holds nothing but the
    Relation nodes (the schema's own); a stopped local server is started to look."""
    if not settings.uses_local_server:
        raise BadInput(REMOTE_REASON)
    LocalNeo4j(settings).start()
    database = settings.neo4j_database
    with make_driver(settings) as driver:
        present = count_nodes(driver, database) - count_nodes(driver, database, "Relation")
    if present:
        raise BadInput(f"database {database!r} holds {present} nodes besides the Relation nodes; the bulk import "
                       "only fills an empty database (import without --bulk to add to it)")


def load(settings: Settings, files: BulkFiles, dimensions: int, wipe: bool = False,
         index_timeout: int = 7200) -> dict:
    """Replace the local server's database with the CSVs, then build the schema and vector indexes.

    Only for the server `mind db start` manages (the importer writes its store files). A database
    that holds products or intentions is replaced only with `wipe=True`.
    """
    if not settings.uses_local_server:
        raise MindError(REMOTE_REASON)
    local = LocalNeo4j(settings)
    timings: dict[str, float] = {}
    if local.status().running:
        with make_driver(settings) as driver:
            present = count_nodes(driver, settings.neo4j_database, "Product") + \
                count_nodes(driver, settings.neo4j_database, "Intention")
        if present and not wipe:
            raise MindError(f"database {settings.neo4j_database!r} holds {present} products/intentions; "
                            "the bulk import replaces the whole database (pass wipe to allow it)")
        local.stop()
    t0 = time.perf_counter()
    run_import(settings, files)
    timings["import_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    local.start()
    timings["start_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    with make_driver(settings) as driver:
        schema = apply_schema(driver, settings.neo4j_database, dimensions, await_seconds=0)
        with driver.session(database=settings.neo4j_database) as session:
            session.execute_write(await_indexes, index_timeout)
    timings["indexes_s"] = time.perf_counter() - t2
    return {"counts": dict(files.counts), "schema": schema, **{k: round(v, 1) for k, v in timings.items()}}
