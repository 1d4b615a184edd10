"""The stage registry: one declaration per stage, and everything that lists stages reads it."""

from __future__ import annotations

import pytest

from cli.generate import STAGE_CHOICES
from generation.requests import GenerateRequest, decodings, token_budgets
from generation.stages import LEASES, STAGES
from mindkb.errors import BadInput
from mindkb.settings import Settings


def test_stages_run_in_the_order_their_specs_declare():
    assert list(STAGES) == ["features", "intentions", "filter"]
    for before, (name, stage) in zip([None, *STAGES], STAGES.items(), strict=False):
        assert stage.spec.name == name and stage.spec.after == before
        assert stage.spec.unit and callable(stage.spec.prompt) and callable(stage.spec.parse)
    # the dead-lease scan covers each stage's lease once
    assert tuple(s.spec.lease for s in STAGES.values()) == LEASES and len(set(LEASES)) == len(STAGES)


def test_the_cli_offers_every_registered_stage():
    assert (*STAGES, "all") == STAGE_CHOICES


def test_budgets_come_from_the_specs_and_their_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env
    for name in STAGES:
        monkeypatch.delenv(f"MIND_MAX_NEW_TOKENS_{name.upper()}", raising=False)
    assert token_budgets(Settings()) == {name: s.spec.max_new_tokens for name, s in STAGES.items()}
    monkeypatch.setenv("MIND_MAX_NEW_TOKENS_FILTER", "7")
    settings = Settings()
    assert token_budgets(settings) == {"features": 384, "intentions": 200, "filter": 7}
    req = GenerateRequest(stages=list(STAGES), relations=["UsedFor"], model="m", max_new_tokens=None)
    assert {n: d.max_new_tokens for n, d in decodings(settings, req).items()} == token_budgets(settings)
    req.max_new_tokens = 11  # --max-new-tokens: every stage
    assert {d.max_new_tokens for d in decodings(settings, req).values()} == {11}


def test_a_budget_for_no_stage_is_refused_by_its_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIND_MAX_NEW_TOKENS_SUMMARY", "50")
    with pytest.raises(BadInput, match="MIND_MAX_NEW_TOKENS_SUMMARY: no such stage"):
        token_budgets(Settings())
