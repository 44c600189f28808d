"""ecrm.render.request: user input parsed once into one validated ReportRequest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ecrm.errors import ParameterError, SettingsError
from ecrm.render.context import context
from ecrm.render.request import ReportRequest, parse_month

SHOP = "demo-apparel"


@pytest.mark.parametrize(
    "month",
    [
        " 2026-10",
        "2026-10 ",
        "2026-1",
        "2026/10",
        "2026-13",
        "2026-00",
        "2026-10\n",
        "２０２６-10",
        "26-10",
        "",
        None,
        202610,
    ],
)
def test_months_other_than_exactly_yyyy_mm_are_refused(month):
    with pytest.raises(ParameterError, match="YYYY-MM"):
        parse_month(month)


def test_parse_gives_as_of_and_the_validated_settings(demo_root):
    req = ReportRequest.parse(SHOP, "2026-02", "en", root=demo_root)
    assert req.as_of == dt.date(2026, 2, 28)
    assert (req.shop, req.month, req.lang) == (SHOP, "2026-02", "en")
    assert req.settings.name == SHOP and req.settings.currency == "JPY"
    assert req.settings_path == (demo_root / "data" / SHOP / "settings.yaml").resolve()
    assert req.orders_path.is_file()
    with pytest.raises(AttributeError):
        req.month = "2026-03"  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    ("shop", "month", "lang"),
    [
        ("../x", "2026-10", "ja"),
        ("x\n", "2026-10", "ja"),
        (SHOP, " 2026-10", "ja"),
        (SHOP, "2026-10", "fr"),
        (SHOP, "2026-10", None),
    ],
)
def test_parse_refuses_bad_input(demo_root, shop, month, lang):
    with pytest.raises(ParameterError):
        ReportRequest.parse(shop, month, lang, root=demo_root)


def test_a_missing_shop_is_a_settings_error(demo_root):
    with pytest.raises(SettingsError, match="not found"):
        ReportRequest.parse("no-such-shop", "2026-10", root=demo_root)


def test_the_kernel_gets_the_settings_as_data_not_the_file(demo_root, tmp_path):
    """read() rebuilds the same request without reading settings.yaml again."""
    req = ReportRequest.parse(SHOP, "2026-10", "ja", root=demo_root)
    f = req.write(tmp_path / "request.json")
    assert json.loads(f.read_text(encoding="utf-8"))["settings"]["name"] == SHOP
    back = ReportRequest.read(f)
    assert back == req
    # an edited settings file does not reach a kernel that has the request
    copy = tmp_path / "shop"
    copy.mkdir()
    broken = req.settings.model_copy(update={"base_dir": copy})
    (copy / "settings.yaml").write_text("not: [valid\n", encoding="utf-8")
    moved = ReportRequest(req.shop, req.month, req.lang, req.as_of, broken, copy, req.root)
    assert ReportRequest.read(moved.write(tmp_path / "r2.json")).settings.base_dir == copy


def test_context_from_a_request_file_checks_the_parameters(demo_root, tmp_path):
    req = ReportRequest.parse(SHOP, "2026-10", "en", root=demo_root)
    f = str(req.write(tmp_path / "request.json"))
    ctx = context(SHOP, "2026-10", "en", request_file=f)
    assert (ctx.as_of, ctx.settings, ctx.lang) == (req.as_of, req.settings, "en")
    with pytest.raises(ParameterError, match="disagree"):
        context(SHOP, "2026-09", "en", request_file=f)


def test_a_file_that_is_not_a_request(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(ParameterError, match="not a report request"):
        ReportRequest.read(bad)
    with pytest.raises(ParameterError, match="not a report request"):
        ReportRequest.read(Path(tmp_path / "absent.json"))
