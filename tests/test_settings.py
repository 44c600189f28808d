"""Tests of ecrm.settings: SPEC defaults, strict keys with hints, validation, paths."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import ecrm
from ecrm.errors import SettingsError
from ecrm.settings import (
    CURRENCIES,
    AnalysisSettings,
    ExportSettings,
    ShopSettings,
    load_settings,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example-settings.yaml"
MINIMAL: dict[str, Any] = {"name": "shop", "sources": [{"path": "raw/orders.csv"}]}


def write(folder: Path, data: dict[str, Any] | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "settings.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_lines(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    """The problem lines of the SettingsError that loading ``data`` raises."""
    path = write(tmp_path, data)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    head, *lines = str(info.value).split("\n")
    assert head == f"{path}: invalid settings:"
    return [line.removeprefix("  - ") for line in lines]


# --------------------------------------------------------------------------- defaults


def test_defaults_are_the_spec_values() -> None:
    s = ShopSettings(**MINIMAL)
    a = s.analysis
    assert (s.timezone, s.currency, s.preset) == ("Asia/Tokyo", "JPY", None)
    assert s.exclude_statuses == ["cancelled", "test"]
    assert s.strip_float_suffix is True
    assert s.exports.include_email is False
    # CPM: lapse 240 days, tenure 90 / 210 days, spend 70,000 yen
    assert a.cpm.lapse_days == 240
    assert a.cpm.tenure_cutoffs == (90, 210)
    assert a.cpm.spend_cutoff == 70_000
    # lifecycle: active 120, churn 360
    assert (a.lifecycle.active_days, a.lifecycle.churn_days) == (120, 360)
    # RFM fixed bins: R ≤30/≤90/≤180/≤365; F 1/2/3–4/5–9/10+; M <5,000/<10,000/<30,000/<100,000
    assert a.rfm.method == "fixed"
    assert a.rfm.recency_days == (30, 90, 180, 365)
    assert a.rfm.frequency == (1, 2, 4, 9)
    assert a.rfm.monetary == (5_000, 10_000, 30_000, 100_000)
    assert a.rfm.segment_map is None
    # decile: the 12 months to as_of, 10 groups
    assert (a.decile.period_months, a.decile.groups) == (12, 10)
    # LTV: 30, 60, ... 360 days; ladder to 10; lapse as CPM; F2 windows
    assert (a.ltv.step_days, a.ltv.horizon_days, a.ltv.ladder_max) == (30, 360, 10)
    assert a.ltv.lapse_days == a.cpm.lapse_days
    assert a.ltv.f2_windows == (30, 60, 90, 180, 360)
    assert a.ltv.predict_months == 12
    # KPIs: F2 within 90 days of the cohort 3 months back; LTV of the cohort a year back
    assert (a.kpi.f2_days, a.kpi.f2_lag_months, a.kpi.ltv_lag_months) == (90, 3, 12)
    assert a.cluster.random_state == 0


def test_example_settings_load_and_state_the_defaults() -> None:
    s = load_settings(EXAMPLE)
    assert s.name == "my-shop"
    assert s.base_dir == EXAMPLE.parent.resolve()
    # the example documents every analysis default: it must not drift from the code
    assert s.analysis == AnalysisSettings()
    assert s.exports == ExportSettings()
    assert s.exclude_statuses == ShopSettings(**MINIMAL).exclude_statuses


def _unknown_keys(data: Any, model: type[BaseModel], where: str) -> list[str]:
    """Dotted keys of ``data`` that are not fields of ``model`` (recursively)."""
    if not isinstance(data, dict):
        return []
    bad = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            bad.append(f"{where}{key}")
            continue
        ann = field.annotation
        inner = [
            a
            for a in (*getattr(ann, "__args__", ()), ann)
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            sub = f"{where}{key}." + (f"{i}." if isinstance(value, list) else "")
            bad += _unknown_keys(item, inner[0], sub)
    return bad


def test_every_key_of_the_example_is_a_real_field() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert _unknown_keys(data, ShopSettings, "") == []
    # and the walk does look inside: every analysis section is present in the example
    assert set(data["analysis"]) == set(AnalysisSettings.model_fields)
    assert _unknown_keys({"analysis": {"cpm": {"lapse": 1}}}, ShopSettings, "") == [
        "analysis.cpm.lapse"
    ]


# --------------------------------------------------------------------------- strict keys


def test_unknown_keys_named_with_a_hint(tmp_path: Path) -> None:
    data = {
        **MINIMAL,
        "timezon": "Asia/Tokyo",
        "sources": [{"path": "raw/orders.csv", "encodng": "cp932"}],
        "analysis": {"cpm": {"lapse_day": 200}, "rfm": {"recency": [1, 2, 3, 4]}},
        "exports": {"include_emails": True},
        "wibble": "blue",
    }
    assert sorted(error_lines(tmp_path, data)) == sorted(
        [
            "unknown key 'timezon' (did you mean 'timezone'?)",
            "unknown key 'sources.0.encodng' (did you mean 'encoding'?)",
            "unknown key 'analysis.cpm.lapse_day' (did you mean 'lapse_days'?)",
            "unknown key 'analysis.rfm.recency' (did you mean 'recency_days'?)",
            "unknown key 'exports.include_emails' (did you mean 'include_email'?)",
            "unknown key 'wibble'",
        ]
    )


def test_unknown_key_of_an_optional_section(tmp_path: Path) -> None:
    data = {**MINIMAL, "product_master": {"path": "p.csv", "key": "id", "colums": {}}}
    assert error_lines(tmp_path, data) == [
        "unknown key 'product_master.colums' (did you mean 'columns'?)"
    ]


def test_missing_sources(tmp_path: Path) -> None:
    assert error_lines(tmp_path, {"name": "shop"}) == ["missing key 'sources'"]


def test_unknown_canonical_column(tmp_path: Path) -> None:
    data = {**MINIMAL, "columns": {"odrer_id": "受注番号"}}
    [line] = error_lines(tmp_path, data)
    assert line.startswith("columns: Value error, unknown canonical column(s) ['odrer_id']")


def test_unknown_customer_column(tmp_path: Path) -> None:
    data = {**MINIMAL, "customers": {"path": "c.csv", "columns": {"mail": "メール"}}}
    [line] = error_lines(tmp_path, data)
    assert line.startswith("customers.columns: Value error, unknown customer column(s) ['mail']")


def test_base_dir_is_not_a_key(tmp_path: Path) -> None:
    path = write(tmp_path, {**MINIMAL, "base_dir": "/etc"})
    with pytest.raises(SettingsError, match="unknown key 'base_dir'"):
        load_settings(path)


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("rfm", "recency_days", [30, 90, 90, 365]),
        ("rfm", "frequency", [1, 4, 2, 9]),
        ("rfm", "monetary", [5000, 10000, 100000, 30000]),
        ("cpm", "tenure_cutoffs", [210, 90]),
        ("cluster", "k_range", [8, 2]),
    ],
)
def test_non_ascending_bins(tmp_path: Path, section: str, key: str, value: list[int]) -> None:
    data = {**MINIMAL, "analysis": {section: {key: value}}}
    got = [float(v) for v in value] if key == "monetary" else value  # monetary edges are floats
    assert error_lines(tmp_path, data) == [
        f"analysis.{section}.{key}: Value error, values must be strictly ascending, got {got}"
    ]


def test_churn_must_exceed_active(tmp_path: Path) -> None:
    data = {**MINIMAL, "analysis": {"lifecycle": {"active_days": 360, "churn_days": 120}}}
    [line] = error_lines(tmp_path, data)
    assert line.endswith("churn_days must be greater than active_days")


def test_bad_time_zone(tmp_path: Path) -> None:
    assert error_lines(tmp_path, {**MINIMAL, "timezone": "Asia/Tokio"}) == [
        "timezone: Value error, unknown time zone 'Asia/Tokio' (use an IANA name like Asia/Tokyo)"
    ]


@pytest.mark.parametrize("name", ["My Shop", "-shop", "ショップ", "shop/../x", "a" * 65, ""])
def test_non_slug_names(tmp_path: Path, name: str) -> None:
    [line] = error_lines(tmp_path, {**MINIMAL, "name": name})
    assert line.startswith(f"name: Value error, shop name {name!r} is not a slug")


@pytest.mark.parametrize("name", ["shop", "my-shop_2", "0shop", "a" * 64])
def test_slug_names(name: str) -> None:
    assert ShopSettings(**{**MINIMAL, "name": name}).name == name


def test_bad_regex(tmp_path: Path) -> None:
    [line] = error_lines(tmp_path, {**MINIMAL, "return_order_pattern": "^C("})
    assert line.startswith("return_order_pattern: Value error, return_order_pattern is not a valid")


def test_every_problem_at_once(tmp_path: Path) -> None:
    data = {**MINIMAL, "name": "Bad Name", "timezone": "Mars/Base", "nmae": "x"}
    lines = error_lines(tmp_path, data)
    assert len(lines) == 3
    assert "unknown key 'nmae' (did you mean 'name'?)" in lines


def test_settings_are_frozen() -> None:
    s = ShopSettings(**MINIMAL)
    with pytest.raises(ValueError, match="frozen"):
        s.timezone = "UTC"  # type: ignore[misc]


# --------------------------------------------------------------------------- files and paths


def test_folder_or_file(tmp_path: Path) -> None:
    path = write(tmp_path / "shop", MINIMAL)
    assert load_settings(path) == load_settings(path.parent)


def test_name_defaults_to_the_folder(tmp_path: Path) -> None:
    path = write(tmp_path / "demo-tea", {"sources": MINIMAL["sources"]})
    assert load_settings(path).name == "demo-tea"


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "nowhere")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(write(tmp_path / "a", "name: [unclosed"))
    with pytest.raises(SettingsError, match="expected a mapping"):
        load_settings(write(tmp_path / "b", "- just\n- a list\n"))


def test_relative_paths_resolve_against_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = tmp_path / "shops" / "tea"
    path = write(shop, {**MINIMAL, "sources": [{"path": "raw/*.csv"}]})
    (shop / "raw").mkdir()
    (shop / "raw" / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\nA1,C1,2024-01-05,100\n", encoding="utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = load_settings(Path("..") / "shops" / "tea" / "settings.yaml")
    assert s.base_dir == shop.resolve()
    assert s.resolve("raw/orders.csv") == shop.resolve() / "raw" / "orders.csv"
    assert s.resolve("/data/x.csv") == Path("/data/x.csv")  # absolute stays absolute
    assert s.shop_dir == shop.resolve()
    cols = {c: c for c in ("order_id", "customer_id", "ordered_at", "amount")}
    write(shop, {**MINIMAL, "sources": [{"path": "raw/*.csv"}], "columns": cols})
    result = ecrm.ingest(path, today=date(2024, 12, 31))
    assert result.orders_path == shop.resolve() / "canonical" / "orders.parquet"
    assert result.summary.files[0]["file"] == "raw/orders.csv"
    assert not (elsewhere / "canonical").exists()


# --------------------------------------------------------------------------- section()


def test_section_of_shop_settings_section_or_none() -> None:
    """section() gives the shop's section, the section itself, or SPEC's defaults for None."""
    from ecrm.settings import (
        ChannelSettings,
        ClusterSettings,
        CohortSettings,
        CpmSettings,
        CtbSettings,
        DecileSettings,
        KpiSettings,
        LifecycleSettings,
        LtvSettings,
        ProductSettings,
        RfmSettings,
        SubscriptionSettings,
        section,
    )

    shop = ShopSettings(**MINIMAL, analysis={"cpm": {"lapse_days": 180}})
    assert section(shop, CpmSettings).lapse_days == 180
    assert section(shop, CpmSettings) is shop.analysis.cpm
    own = CpmSettings(lapse_days=90)
    assert section(own, CpmSettings) is own
    assert section(None, CpmSettings) == CpmSettings()
    kinds = {
        "rfm": RfmSettings,
        "decile": DecileSettings,
        "cpm": CpmSettings,
        "lifecycle": LifecycleSettings,
        "cohort": CohortSettings,
        "ltv": LtvSettings,
        "cluster": ClusterSettings,
        "ctb": CtbSettings,
        "kpi": KpiSettings,
        "subscriptions": SubscriptionSettings,
        "channels": ChannelSettings,
        "products": ProductSettings,
    }
    assert set(kinds) == set(AnalysisSettings.model_fields)
    for name, kind in kinds.items():
        assert section(shop, kind) is getattr(shop.analysis, name)
        assert section(None, kind) == kind()


def test_section_rejects_a_class_that_is_no_section() -> None:
    from ecrm.errors import ParameterError
    from ecrm.settings import section

    with pytest.raises(ParameterError, match="ExportSettings is not a section"):
        section(ShopSettings(**MINIMAL), ExportSettings)


@pytest.mark.parametrize(
    ("currency", "hint"),
    [
        ("gbp", "(did you mean 'GBP'?)"),
        ("YEN", "(did you mean 'JPY'?)"),
        ("¥", "(did you mean 'JPY'?)"),
        ("EUE", "(use an ISO 4217 code like JPY or GBP)"),
        ("XAU", "(use an ISO 4217 code like JPY or GBP)"),
    ],
)
def test_currency_must_be_iso_4217(tmp_path: Path, currency: str, hint: str) -> None:
    assert error_lines(tmp_path, {**MINIMAL, "currency": currency}) == [
        f"currency: Value error, unknown currency {currency!r} {hint}"
    ]


def test_iso_4217_codes_load_with_their_minor_units() -> None:
    from ecrm.present import format as fmt
    from ecrm.settings import CURRENCIES

    for code in ("JPY", "GBP", "USD", "EUR", "KWD", "CLF", "TWD"):
        assert ShopSettings(**{**MINIMAL, "currency": code}).currency == code
    assert (CURRENCIES["JPY"], CURRENCIES["GBP"], CURRENCIES["KWD"], CURRENCIES["CLF"]) == (
        0,
        2,
        3,
        4,
    )
    assert fmt.MINOR_UNITS is CURRENCIES  # one table
    assert all(len(c) == 3 and c.isalpha() and c.isupper() for c in CURRENCIES)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=5))
def test_currency_outside_iso_4217_is_always_refused(currency: str) -> None:
    if currency in CURRENCIES:
        assert ShopSettings(**{**MINIMAL, "currency": currency}).currency == currency
        return
    with pytest.raises(ValidationError, match=r"unknown currency .* \((did you mean|use an ISO)"):
        ShopSettings(**{**MINIMAL, "currency": currency})


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(CURRENCIES)))
def test_every_iso_4217_code_loads(code: str) -> None:
    assert ShopSettings(**{**MINIMAL, "currency": code}).currency == code
