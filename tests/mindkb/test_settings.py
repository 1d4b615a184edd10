"""One settings object from the environment and `.env`."""

from __future__ import annotations

import pytest

from mindkb.errors import BadInput
from mindkb.relations import parse_relations
from mindkb.settings import Settings, TokenBudget, check_option, get_settings


def test_env_file_and_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("NEO4J_URI", "MIND_NEO4J_BOLT_PORT", "MIND_API_PORT", "MIND_MODEL"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / ".env").write_text("MIND_NEO4J_BOLT_PORT=7999\nMIND_API_PORT=9000\nMIND_MODEL=/models/llava\n")
    s = Settings()
    assert s.neo4j_uri == "bolt://localhost:7999" and s.uses_local_server
    assert s.api_port == 9000 and s.model == "/models/llava"
    monkeypatch.setenv("MIND_API_PORT", "9100")  # the environment wins over .env
    monkeypatch.setenv("NEO4J_URI", "neo4j://db.example:7687")
    s = Settings()
    assert s.api_port == 9100 and s.neo4j_uri == "neo4j://db.example:7687" and not s.uses_local_server


def test_bad_uri_is_rejected(monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "http://localhost:7474")
    with pytest.raises(ValueError, match="NEO4J_URI"):
        Settings()


def test_password_from_env_or_launcher_file(tmp_path, monkeypatch):
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    s = Settings(MIND_NEO4J_HOME=str(tmp_path))
    with pytest.raises(BadInput, match="no Neo4j password"):
        s.password()
    (tmp_path / "password").write_text("from-file-123\n")
    assert s.password() == "from-file-123"
    monkeypatch.setenv("NEO4J_PASSWORD", "from-env-456")
    assert Settings(MIND_NEO4J_HOME=str(tmp_path)).password() == "from-env-456"
    assert "from-env-456" not in repr(Settings(MIND_NEO4J_HOME=str(tmp_path)))


def test_relation_names_parse_in_every_spelling():
    assert parse_relations("UsedFor, CAUSE_DESIRE,isa") == ["UsedFor", "CauseDesire", "IsA"]
    assert len(parse_relations(None)) == 20
    with pytest.raises(BadInput, match="unknown relation"):
        parse_relations("UsedFor,Flies")


def test_ray_address_falls_back_to_rays_own_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("MIND_RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert Settings().ray_address is None
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")  # as `ray job submit` sets it
    assert Settings().ray_address == "ray://head:10001"
    monkeypatch.setenv("MIND_RAY_ADDRESS", "auto")  # our own name wins
    assert Settings().ray_address == "auto"
    assert Settings(MIND_RAY_ADDRESS="local").ray_address == "local"


@pytest.mark.parametrize(("value", "chosen"), [("", None), ("auto", None), ("1", True), ("0", False)])
def test_progress_is_a_setting(value, chosen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIND_PROGRESS", value)
    monkeypatch.setenv("MIND_PROGRESS_INTERVAL", "0.5")
    s = Settings()
    assert s.progress is chosen and s.progress_interval == 0.5


def test_a_bad_progress_interval_is_refused(monkeypatch):
    monkeypatch.setenv("MIND_PROGRESS_INTERVAL", "-1")
    with pytest.raises(ValueError, match="progress_interval"):
        Settings()


def test_per_stage_token_budgets_keep_their_variable_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for stage in ("FEATURES", "INTENTIONS", "FILTER"):
        monkeypatch.delenv(f"MIND_MAX_NEW_TOKENS_{stage}", raising=False)
    assert Settings().max_new_tokens == {}
    (tmp_path / ".env").write_text("MIND_MAX_NEW_TOKENS_INTENTIONS=150\nMIND_MAX_NEW_TOKENS_FILTER=64\n")
    monkeypatch.setenv("MIND_MAX_NEW_TOKENS_FILTER", "80")  # the environment wins over .env
    assert Settings().max_new_tokens == {"intentions": 150, "filter": 80}
    assert Settings(MIND_MAX_NEW_TOKENS_FEATURES=500).max_new_tokens["features"] == 500
    monkeypatch.setenv("MIND_MAX_NEW_TOKENS_FEATURES", "0")
    get_settings.cache_clear()
    try:
        with pytest.raises(BadInput, match=r"^invalid setting MIND_MAX_NEW_TOKENS_FEATURES: .*greater than or equal to 1"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_command_line_values_are_checked_against_the_settings_bounds():
    s = Settings()
    assert s.with_options({"generation_batch_size": ("--batch-size", 32), "generation_seed": ("--seed", None)}
                          ).generation_batch_size == 32
    for field, option, value, said in [
        ("generation_batch_size", "--batch-size", 0, "--batch-size must be between 1 and 1024"),
        ("generation_temperature", "--temperature", 2.5, "--temperature must be between 0 and 2"),
        ("generation_lease_seconds", "--lease-seconds", 0.0, "--lease-seconds must be greater than 0 and at most 604800"),
        ("ray_actors", "--actors", 5000, "--actors must be between 1 and 4096"),
    ]:
        with pytest.raises(BadInput) as caught:
            s.with_options({field: (option, value)})
        assert str(caught.value) == said
    with pytest.raises(BadInput, match="^--max-new-tokens must be between 1 and 4096$"):
        check_option("--max-new-tokens", 5000, TokenBudget)


def test_a_relative_neo4j_home_becomes_absolute(tmp_path, monkeypatch):
    """Neo4j refuses relative paths in the settings the launcher writes (its tmp folder among them)."""
    monkeypatch.chdir(tmp_path)
    assert Settings(MIND_NEO4J_HOME="bench/neo4j").neo4j_home == tmp_path / "bench" / "neo4j"
