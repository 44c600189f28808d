"""Tests of ecrm.errors: one exception family, messages that say what to fix."""

from __future__ import annotations

import pytest

from ecrm.errors import (
    ColumnsError,
    EcrmError,
    IngestError,
    InputProblem,
    MissingDependencyError,
    ModelFitError,
    ParameterError,
    SettingsError,
)


def test_one_family() -> None:
    for cls in (
        SettingsError,
        ParameterError,
        ColumnsError,
        IngestError,
        MissingDependencyError,
        ModelFitError,
    ):
        assert issubclass(cls, EcrmError)
    assert issubclass(ParameterError, ValueError)
    assert issubclass(ColumnsError, KeyError)
    assert issubclass(MissingDependencyError, ImportError)


def test_model_errors_are_the_same_classes_everywhere() -> None:
    """Defined once in ecrm.errors; ecrm and ecrm.models.predict re-export them."""
    import ecrm
    from ecrm.models import predict

    assert predict.MissingDependencyError is MissingDependencyError is ecrm.MissingDependencyError
    assert predict.ModelFitError is ModelFitError is ecrm.ModelFitError


def test_columns_error_message_is_not_repr() -> None:
    assert str(ColumnsError("orders lacks column 'amount'")) == "orders lacks column 'amount'"
    assert str(ColumnsError()) == ""


def test_input_problem_text() -> None:
    assert str(InputProblem("raw/a.csv", 3, "小計", "not an amount", "12x")) == (
        "raw/a.csv, row 3, column '小計': not an amount (value '12x')"
    )
    assert str(InputProblem("raw/a.csv", None, None, "cannot be read")) == (
        "raw/a.csv: cannot be read"
    )
    with pytest.raises(AttributeError):
        InputProblem("a", 1, "b", "c").row = 2  # type: ignore[misc]


def test_ingest_error_lists_problems_and_counts_the_rest() -> None:
    problems = [InputProblem("raw/a.csv", r, "日時", "not a date") for r in range(2, 2 + 53)]
    err = IngestError(problems, shop="tea")
    lines = str(err).split("\n")
    assert lines[0] == "53 problem(s) in the raw exports of shop 'tea'; nothing was written:"
    assert lines[1] == "  - raw/a.csv, row 2, column '日時': not a date"
    assert len(lines) == 1 + IngestError.shown + 1
    assert lines[-1] == "  ... and 3 more"
    assert err.problems == problems and err.shop == "tea"


def test_ingest_error_without_shop() -> None:
    err = IngestError([InputProblem("x.csv", None, None, "empty")])
    assert str(err) == "1 problem(s) in the raw exports; nothing was written:\n  - x.csv: empty"
