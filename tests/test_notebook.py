"""Tests of ecrm.notebook: a section that cannot run shows a message, not a traceback.

(The notebooks themselves are checked in tests/test_notebooks.py; rendering in
tests/test_report.py.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ecrm.errors import MissingDependencyError, ModelFitError
from ecrm.notebook import ReportContext


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the context displays, instead of showing it."""
    import IPython.display

    out: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: out.extend(objs))
    return out


def _ctx(lang: str) -> ReportContext:
    return ReportContext(
        shop="demo",
        month="2026-10",
        lang=lang,
        as_of=dt.date(2026, 10, 31),
        settings=None,  # type: ignore[arg-type]  # attempt() does not use them
        orders=Path("orders.parquet"),
        output_dir=None,
    )


def _fail(exc: Exception) -> None:
    raise exc


def test_attempt_returns_the_result_and_shows_nothing(shown: list[Any]) -> None:
    assert _ctx("ja").attempt(divmod, 7, 2) == (3, 1)
    assert _ctx("ja").attempt(dict, a=1) == {"a": 1}
    assert shown == []


def test_missing_extra_is_a_message(shown: list[Any]) -> None:
    err = MissingDependencyError("install it with `pip install 'ecrm[predict]'` <here>")
    assert _ctx("ja").attempt(_fail, err) is None
    (box,) = shown
    assert box.data == (
        "<div class='ecrm-error'><strong>この分析は表示できません.</strong>"
        "<p>必要なオプションのパッケージがインストールされていません。 install it with "
        "`pip install &#x27;ecrm[predict]&#x27;` &lt;here&gt;</p></div>"
    )


def test_model_fit_error_is_a_message(shown: list[Any]) -> None:
    err = ModelFitError("only 3 of 6 customers have a repeat purchase")
    assert _ctx("en").attempt(_fail, err) is None
    (box,) = shown
    assert "This analysis could not be shown." in box.data
    assert (
        "The model could not be estimated from this data. only 3 of 6 customers have a "
        "repeat purchase"
    ) in box.data


def test_other_errors_propagate(shown: list[Any]) -> None:
    with pytest.raises(ZeroDivisionError):
        _ctx("en").attempt(lambda: 1 / 0)
    with pytest.raises(TypeError):
        _ctx("en").attempt(divmod, "a", "b")
    assert shown == []
