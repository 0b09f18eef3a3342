"""The words of each formula are the words of its field in the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from app.metrics import formulas as f


def test_every_metric_field_is_described_by_its_formula(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    properties = schemas["SummaryRow"]["properties"]
    for name in f.FAMILY_FIELDS[f.Family.summary]:
        assert properties[name]["description"].startswith(f.description(name)), name


def test_every_rate_documents_its_numerator_and_denominator(app: FastAPI) -> None:
    properties = app.openapi()["components"]["schemas"]["SummaryRow"]["properties"]
    for name, rate in f.RATES.items():
        assert " + ".join(rate.numerator) in properties[f"{name}_numerator"]["description"]
        assert " + ".join(rate.denominator) in properties[f"{name}_denominator"]["description"]


def test_every_field_of_every_family_has_a_definition_in_words() -> None:
    for family in f.Family:
        for name in f.FAMILY_FIELDS[family]:
            assert len(f.description(name)) > 20, name


def test_docs_state_every_field_in_the_formulas_words() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name in f.FAMILY_FIELDS[f.Family.summary]:
        assert f"- `{name}`: {f.description(name)}" in docs, name
