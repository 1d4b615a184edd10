"""One settings object, read from the environment and `.env`.

Every field `x` is read from `MIND_X`; Neo4j's connection variables also keep their conventional
names (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import annotated_types
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import PydanticBaseEnvSettingsSource

from mindkb.errors import BadInput

# The local server: the newest calendar release Maven Central serves (checked against its
# metadata for org.neo4j.app:neo4j-server); NEO4J_LTS_VERSION stays a supported setting.
NEO4J_VERSION = "2026.08.1"
NEO4J_LTS_VERSION = "5.26.30"
ENGINES = ("in-process", "ray")  # how `mind generate` and `mind embed` run (MIND_ENGINE, --engine)
# The newest neo4j-browser release on Maven Central; it is built for the whole 5.x line.
NEO4J_BROWSER_VERSION = "5.24.0"

# A generation stage's output budget (MIND_MAX_NEW_TOKENS_<STAGE>, --max-new-tokens).
TokenBudget = Annotated[int, Field(ge=1, le=4096)]
T = TypeVar("T")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MIND_", env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- connection -------------------------------------------------------------------------
    neo4j_uri: str | None = Field(None, validation_alias=AliasChoices("NEO4J_URI", "MIND_NEO4J_URI"))
    neo4j_user: str = Field("neo4j", validation_alias=AliasChoices("NEO4J_USER", "MIND_NEO4J_USER"))
    neo4j_password: SecretStr | None = Field(None, validation_alias=AliasChoices("NEO4J_PASSWORD", "MIND_NEO4J_PASSWORD"))
    neo4j_database: str = Field("neo4j", validation_alias=AliasChoices("NEO4J_DATABASE", "MIND_NEO4J_DATABASE"))
    neo4j_connect_timeout: float = Field(15.0)

    # --- the local server that `mind db start` runs ----------------------------------------
    neo4j_version: str = Field(NEO4J_VERSION)
    neo4j_browser_version: str = Field(NEO4J_BROWSER_VERSION)
    neo4j_java_home: Path | None = Field(None)  # a JDK for the local server; else found (graph/jdk.py)
    # Where JDKs installed side by side are looked for after JAVA_HOME (graph/jdk.py).
    neo4j_jvm_root: Path = Field(Path("/usr/lib/jvm"))
    neo4j_home: Path = Field(Path("~/.local/share/mind/neo4j"))
    neo4j_bolt_port: int = Field(7687, ge=1, le=65535)
    neo4j_http_port: int = Field(7474, ge=1, le=65535)
    neo4j_heap: str = Field("2g")
    neo4j_pagecache: str = Field("2g")
    # Lucene merge factor of the vector indexes. Neo4j writes one HNSW segment per committed
    # transaction and searches every segment per query; its default (50) left a bulk-loaded index
    # of 1.26M vectors in ~160 segments (raw query 55 ms), 10 merges them down as the load goes.
    neo4j_vector_merge_factor: int = Field(10, ge=2, le=1000)
    # Lucene RAM buffer (MB) while a vector index is built over stored vectors (after the bulk
    # import). Unset: Neo4j's own (1 MB on 5.26), which flushes many small HNSW segments: the
    # fastest build, but a query searches every segment. Larger: fewer, larger segments, a slower
    # build and faster queries (BENCHMARKS.md, "Vector index population").
    neo4j_vector_population_buffer_mb: float | None = Field(None, gt=0, le=1900)
    neo4j_start_timeout: float = Field(180.0)

    # Logging threshold of the `mind` command's stderr lines (DEBUG, INFO, WARNING, ERROR).
    log_level: str = Field("WARNING", pattern=r"(?i)^(debug|info|warning|error|critical)$")
    # Progress on stderr (mindkb/output.py): 1 a bar even where stderr is no terminal, 0 none;
    # unset, a bar on a terminal and whole log lines elsewhere, one per `progress_interval` seconds.
    progress: bool | None = Field(None)
    progress_interval: float = Field(5.0, ge=0, le=3600)

    # --- folders ------------------------------------------------------------------------------
    cache_dir: Path = Field(Path("~/.cache/mind"))
    data_dir: Path = Field(Path("data"))

    # --- models -------------------------------------------------------------------------------
    model: str = Field("llava-hf/llava-1.5-13b-hf")
    embedding_model: str = Field("sentence-transformers/all-MiniLM-L6-v2")
    # How texts become vectors: torch, or an ONNX export (onnx: float32, onnx-int8: quantised) on
    # the CPU. int8 encodes a query ~3.4x faster on one thread at cosine >= 0.99 to torch (BENCHMARKS.md).
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field("onnx-int8")
    device: str = Field("auto")

    # --- batch sizes --------------------------------------------------------------------------
    write_batch_size: int = Field(5000, ge=1, le=100_000)
    generation_batch_size: int = Field(8, ge=1, le=1024)
    embed_batch_size: int = Field(256, ge=1, le=8192)

    # --- generation -------------------------------------------------------------------------
    generation_backend: str = Field("transformers")
    dtype: str = Field("auto")
    openai_base_url: str | None = Field(None)
    openai_api_key: SecretStr | None = Field(None)
    generation_concurrency: int = Field(16, ge=1, le=1024)
    generation_timeout: float = Field(300.0, gt=0)
    generation_lease_seconds: float = Field(900.0, gt=0, le=7 * 24 * 3600)
    generation_seed: int = Field(0, ge=0)
    generation_temperature: float = Field(0.2, ge=0, le=2)
    # Per stage, overriding the budget its spec declares (generation/stages/): MIND_MAX_NEW_TOKENS_FEATURES=512.
    max_new_tokens: dict[str, TokenBudget] = Field(default_factory=dict)
    # The in-process fast path (docs/generation.md): static KV caches, shared prompt prefixes
    # prefilled once, a compiled decode step. auto: on for CUDA with batches of 8 or more.
    generation_compile: Literal["auto", "on", "off"] = Field("auto")
    # Cache lengths (prompt + answer) are rounded up to this many tokens: fewer shapes to compile.
    generation_length_bucket: int = Field(128, ge=8, le=4096)
    # Prompt + answer tokens an automatic batch size is computed for (CUDA, --batch-size unset).
    generation_context_tokens: int = Field(1536, ge=64, le=32768)
    # Tokens per prefill forward: bounds the activation memory kept beside the KV cache.
    generation_prefill_chunk_tokens: int = Field(8192, ge=256, le=1_000_000)
    # GPU memory left free besides the activation estimate when batches are sized to the memory.
    generation_memory_margin_gib: float = Field(2.0, ge=0, le=1024)

    # --- scale-out on Ray (`mind generate|embed --engine ray`, docs/scale-out.md) ---------------
    engine: Literal["in-process", "ray"] = Field("in-process")
    # Unset: RAY_ADDRESS when set (as under `ray job submit`), else a local Ray started for the run.
    ray_address: str | None = Field(None, validation_alias=AliasChoices("MIND_RAY_ADDRESS", "ray_address",
                                                                        "RAY_ADDRESS"))
    # Model actors; unset: one per GPU of the cluster (GPUs / GPUs per actor), or 1 without GPUs.
    ray_actors: int | None = Field(None, ge=1, le=4096)
    # GPUs each actor holds; unset: 1 when the cluster has GPUs, else 0 (actors on CPUs).
    ray_gpus_per_actor: float | None = Field(None, ge=0, le=64)
    # CPUs each actor holds (on CPUs: its torch threads).
    ray_cpus_per_actor: float = Field(1.0, gt=0, le=1024)
    # Units of work per partition, the part one actor call does (claims of --batch-size inside);
    # unset: 8 batches. Smaller: finer progress and less redone after a lost actor; larger: fewer tasks.
    ray_partition_size: int | None = Field(None, ge=1, le=1_000_000)

    # --- ingest -------------------------------------------------------------------------------
    # The most one record may hold (a JSON line; a CSV record, all its lines), and one field of it
    # (a CSV field; a JSON string value). Larger ones are quarantined and reading goes on.
    ingest_max_record_bytes: int = Field(10_000_000, ge=1024, le=1_000_000_000, validation_alias=AliasChoices(
        "MIND_INGEST_MAX_RECORD_BYTES", "ingest_max_record_bytes",
        "MIND_INGEST_MAX_LINE_BYTES", "ingest_max_line_bytes"))  # the setting's earlier name
    ingest_max_field_bytes: int = Field(1_000_000, ge=64, le=1_000_000_000)
    # A run that quarantines more than this share of the records it read exits 1 (after loading
    # the valid ones and printing its summary); 1 never fails.
    ingest_max_quarantine_share: float = Field(0.5, ge=0, le=1)
    image_max_bytes: int = Field(20_000_000, ge=1024, le=1_000_000_000)
    image_max_pixels: int = Field(50_000_000, ge=1, le=1_000_000_000)
    image_download_timeout: float = Field(15.0, gt=0, le=600)
    image_download_retries: int = Field(3, ge=1, le=20)
    image_download_workers: int = Field(8, ge=1, le=128)
    # `mind import release`: a mirror of a release's files (the same paths below it; https, http or
    # file://) instead of the URL in ingest/releases.json, and the read timeout of one download.
    release_base_url: str | None = Field(None, max_length=2000)
    release_download_timeout: float = Field(60.0, gt=0, le=3600)

    # --- API ----------------------------------------------------------------------------------
    api_host: str = Field("127.0.0.1")
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(1, ge=1, le=64)  # `mind serve` processes
    # The key that writes need. Unset: a read-only API. Set, it must have real strength: an empty
    # or short value is a configuration error, never an open door (`secrets.token_urlsafe(32)`).
    api_key: SecretStr | None = Field(None, min_length=16, max_length=1024)
    # Failed key attempts one client address may make per minute (a token bucket: this many at
    # once, refilled over a minute); past it, its writes are refused without comparing the key.
    api_key_failures_per_minute: int = Field(10, ge=1, le=10_000)
    cors_origins: list[str] = Field(default_factory=list)
    # Operator switches: the GraphiQL page (and its files) at GET /graphql, and schema introspection
    # (`__schema`, `__type`; GraphiQL's docs and completion need it).
    api_graphiql: bool = Field(True)
    api_introspection: bool = Field(True)
    # A Server-Timing header (encode, db, graphql ms) on every GraphQL answer: browsers' developer tools show it.
    api_server_timing: bool = Field(True)

    # --- API: GraphQL limits and recommendation weights ----------------------------------------
    api_max_depth: int = Field(10, ge=2, le=50)
    api_max_aliases: int = Field(20, ge=1, le=1000)
    api_max_tokens: int = Field(2000, ge=50, le=100_000)
    # A GraphQL document's text (POST `query`, GET `?query=`); long texts travel in variables,
    # which the schema bounds per argument. Checked before the JSON reaches GraphQL.
    api_max_query_bytes: int = Field(20_000, ge=1024, le=1_000_000)
    # Fields, fragment spreads and inline fragments in one document: validation compares fields
    # pairwise (quadratic), so this bounds its cost; the introspection query has 77.
    api_max_selections: int = Field(200, ge=10, le=10_000)
    # Estimated values in an answer (every field counted once per list item it sits in, list sizes
    # from `first`/`k` or their known bounds); a query estimated above it is refused before it runs.
    api_max_cost: int = Field(10_000, ge=100, le=10_000_000)
    api_search_max_fetch: int = Field(5000, ge=100, le=100_000)
    recommend_weight_intention: float = Field(0.5, ge=0, le=10)
    recommend_weight_product: float = Field(0.4, ge=0, le=10)
    recommend_weight_complement: float = Field(0.1, ge=0, le=10)
    # Evidence counts only by how far its cosine exceeds this floor: loosely related facts add nothing.
    recommend_evidence_floor: float = Field(0.5, ge=-1, lt=1)
    recommend_intention_pool: int = Field(100, ge=1, le=1000)
    recommend_product_pool: int = Field(50, ge=1, le=1000)

    # --- reliability: waiting for the database, bounding API calls ----------------------------
    neo4j_tx_retry_seconds: float = Field(30.0, ge=0, le=3600)  # driver's own retry of one tx
    db_wait_seconds: float = Field(300.0, ge=0, le=7 * 24 * 3600)  # workers wait this long for Neo4j
    api_db_timeout: float = Field(60.0, gt=0, le=600)  # one API database call: a hung server
    # The API's driver: connecting gives up after this, and one transaction is retried for this
    # long (0.5: one retry about a second after the first failure), so with Neo4j down a request
    # fails in about a second, never the workers' 30 s.
    api_db_connect_timeout: float = Field(1.0, gt=0, le=60)
    api_db_retry_seconds: float = Field(0.5, ge=0, le=60)
    # POST /graphql: a document (api_max_query_bytes) and variables whose texts the schema bounds
    # (1,000 characters, 100 asins) fit many times over; a larger body is refused unread when it
    # declares its length, so a flood of megabyte bodies costs the server next to nothing.
    api_max_body_bytes: int = Field(65_536, ge=1024, le=1_000_000_000)
    api_health_ttl: float = Field(1.0, ge=0, le=60)  # GET /healthz reuses a ping this many seconds

    # --- evaluation: IntentionQA and the SFT export --------------------------------------------
    eval_llm_max_new_tokens: int = Field(8, ge=1, le=256)
    export_max_records: int = Field(10_000_000, ge=1, le=100_000_000)

    # --- API latency at the paper's scale ------------------------------------------------------
    # One torch thread per encode: on a small, shared CPU two threads contend and a short text
    # takes ~10x longer (BENCHMARKS.md, "Benchmarks at the paper's scale"). 0 leaves torch's default.
    # The ONNX backends take the same number as ONNX Runtime's threads per encode.
    api_torch_threads: int = Field(1, ge=0, le=256)
    # searchIntentions asks the vector index for at least this many and keeps k: at 1.26M vectors
    # HNSW's own top 10 finds 0.67 of the true ten, its top 10 of 100 0.947, of 150 0.971.
    # Unset, the index's calibration (retrieval/calibrate.py, api/fetch.py) takes its place when one exists.
    api_search_min_fetch: int = Field(150, ge=1, le=5000)
    # Query texts whose embedding the API keeps (LRU); 0 turns the cache off.
    api_embedding_cache: int = Field(4096, ge=0, le=1_000_000)
    # Distinct GraphQL documents kept parsed and validated (0: parse and validate every request),
    # and the memory they may hold together (text and parsed form, estimated per token).
    api_document_cache: int = Field(256, ge=0, le=100_000)
    api_document_cache_bytes: int = Field(16 * 1024 * 1024, ge=0, le=4 * 1024**3)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        prefixed = _Prefixed(settings_cls, "mind_max_new_tokens_", dotenv_settings, env_settings)
        return init_settings, env_settings, dotenv_settings, prefixed, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _environment_names(cls, data: object) -> object:
        """Settings(MIND_API_PORT=...) works like the environment variable of the same name, and
        `max_new_tokens_<stage>` (MIND_MAX_NEW_TOKENS_<STAGE>) is that stage's `max_new_tokens`."""
        if not isinstance(data, dict):
            return data
        out = {(k[5:].lower() if isinstance(k, str) and k.startswith("MIND_") else k): v for k, v in data.items()}
        per_stage = {k.removeprefix("max_new_tokens_"): out.pop(k) for k in list(out)
                     if isinstance(k, str) and k.startswith("max_new_tokens_")}
        if per_stage:
            given = out.get("max_new_tokens")
            out["max_new_tokens"] = {**per_stage, **(given if isinstance(given, dict) else {})}
        return out

    @field_validator("progress", mode="before")
    @classmethod
    def _progress_auto(cls, value: object) -> object:
        """MIND_PROGRESS empty or `auto`: chosen by where stderr goes."""
        return None if isinstance(value, str) and value.strip().lower() in ("", "auto") else value

    @field_validator("neo4j_home", "cache_dir", "data_dir", "neo4j_jvm_root", "neo4j_java_home", mode="after")
    @classmethod
    def _expand(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        # Neo4j refuses relative paths in its own settings (the home's tmp folder among them).
        return value.expanduser().absolute() if info.field_name == "neo4j_home" else value.expanduser()

    @field_validator("neo4j_uri", mode="after")
    @classmethod
    def _check_uri(cls, value: str | None) -> str | None:
        if value is None:
            return None
        schemes = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
        if not value.startswith(schemes):
            raise ValueError(f"NEO4J_URI must start with one of {', '.join(schemes)}")
        return value

    @model_validator(mode="after")
    def _default_uri(self) -> Settings:
        if self.neo4j_uri is None:
            self.neo4j_uri = f"bolt://localhost:{self.neo4j_bolt_port}"
        return self

    # --- derived paths ----------------------------------------------------------------------
    @property
    def neo4j_lib_dir(self) -> Path:
        return self.cache_dir / "neo4j" / self.neo4j_version / "lib"

    @property
    def local_password_file(self) -> Path:
        return self.neo4j_home / "password"

    @property
    def uses_local_server(self) -> bool:
        """True when NEO4J_URI points at the server that `mind db start` manages."""
        uri = self.neo4j_uri or ""
        return any(
            uri.endswith(f"://{host}:{self.neo4j_bolt_port}")
            for host in ("localhost", "127.0.0.1", "[::1]")
        )

    def password(self) -> str:
        """NEO4J_PASSWORD, else the one the local launcher generated on first start."""
        if self.neo4j_password is not None:
            return self.neo4j_password.get_secret_value()
        try:
            return self.local_password_file.read_text().strip()
        except FileNotFoundError:
            raise BadInput(
                "no Neo4j password: set NEO4J_PASSWORD, or run `mind db start` to start a local "
                "server with a generated one"
            ) from None


    def with_options(self, options: dict[str, tuple[str, Any]]) -> Settings:
        """These settings with the values given on the command line (field -> (option, value); None:
        not given), each checked against its field's bounds; BadInput naming the option when out of them."""
        given = {name: check_option(option, value, field_type(name))
                 for name, (option, value) in options.items() if value is not None}
        return self.model_copy(update=given)

    def validated(self) -> Settings:
        """These settings, each value checked again against its field's bounds: `model_copy(update=...)`
        skips validation (and re-validating the model would read the environment again). BadInput when invalid."""
        for name in type(self).model_fields:
            adapter = _bounds(name)
            try:
                if adapter is not None:
                    adapter.validate_python(getattr(self, name))
            except ValidationError as exc:
                raise BadInput(describe(exc, name)) from None
        return self


class _Prefixed(PydanticBaseSettingsSource):
    """Variables `<prefix><key>` of `.env` and the environment (which wins), under their setting names
    (`max_new_tokens_features`, folded into one mapping by `Settings`): per-stage settings, whose
    names depend on which stages exist, so no field names them."""

    def __init__(self, settings_cls: type[BaseSettings], prefix: str, *sources: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.prefix = prefix
        self.sources = [s for s in sources if isinstance(s, PydanticBaseEnvSettingsSource)]

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for source in self.sources:
            env_vars = getattr(source, "env_vars", {})
            found.update({k.lower().removeprefix("mind_"): v for k, v in env_vars.items()
                          if k.lower().startswith(self.prefix) and v is not None})
        return found


def field_type(name: str) -> object:
    """A setting's type with its constraints (`Annotated[int, Ge(1), Le(1024)]`)."""
    field = Settings.model_fields[name]
    return Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation


def check_option(option: str, value: T, annotation: object) -> T:
    """A command-line value checked against a setting's type and bounds (`field_type`, `TokenBudget`):
    the bounds are stated once, on the settings; BadInput naming `option` when the value is outside."""
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        bounds = _bounds_text(annotation)
        message = f"must be {bounds}" if bounds else str(exc.errors()[0].get("msg", "is invalid"))
        raise BadInput(f"{option} {message}") from None


def _bounds_text(annotation: object) -> str:
    """`between 1 and 1024`, `greater than 0 and at most 604800`, `at least 0`: a type's numeric bounds."""
    marks: dict[str, Any] = {}
    for item in get_args(annotation)[1:]:
        for mark in (item.metadata if isinstance(item, FieldInfo) else [item]):
            if isinstance(mark, annotated_types.Ge | annotated_types.Gt | annotated_types.Le | annotated_types.Lt):
                kind = type(mark).__name__.lower()
                marks[kind] = getattr(mark, kind)
    low = (f"at least {marks['ge']}" if "ge" in marks else f"greater than {marks['gt']}" if "gt" in marks else "")
    high = (f"at most {marks['le']}" if "le" in marks else f"less than {marks['lt']}" if "lt" in marks else "")
    if "ge" in marks and "le" in marks:
        return f"between {marks['ge']} and {marks['le']}"
    return " and ".join(part for part in (low, high) if part)


@cache
def _bounds(name: str) -> TypeAdapter | None:
    """A validator of one field's type and constraints; None for a field without constraints."""
    return TypeAdapter(field_type(name)) if Settings.model_fields[name].metadata else None


def describe(exc: ValidationError, name: str | None = None) -> str:
    """One line for the first invalid setting, named as the environment variable; never its value."""
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ())] if name is None else [name]
    field = Settings.model_fields.get(loc[0]) if loc else None
    if field is not None and field.validation_alias is None:
        loc[0] = "MIND_" + loc[0].upper()
        if len(loc) > 1 and loc[0] == "MIND_MAX_NEW_TOKENS":
            loc = [f"{loc[0]}_{loc[1].upper()}", *loc[2:]]  # a per-stage budget, named as its variable
    where = ".".join(loc) or "settings"
    ctx = first.get("ctx") or {}
    if first.get("type") == "too_short":
        message = f"must be at least {ctx.get('min_length')} characters"  # a secret's length stays unsaid
    elif first.get("type") == "too_long":
        message = f"must be at most {ctx.get('max_length')} characters"
    else:
        message = str(first.get("msg", "")).removeprefix("Value error, ")
    return f"invalid setting {where}: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise BadInput(describe(exc)) from None
