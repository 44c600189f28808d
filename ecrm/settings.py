"""Shop settings: one YAML file per shop, validated with pydantic.

A shop's settings say where its raw exports are, how their columns map to the
canonical orders table (SPEC §1), and every analysis threshold of SPEC §3, each
with SPEC's default. Unknown keys are rejected with a message naming them, so a
typo never silently falls back to a default.

The documented example is ``data/example-settings.yaml``; the demo shops'
settings live in ``data/demo-*/settings.yaml``.
"""

from __future__ import annotations

import difflib
import itertools
import re
import zoneinfo
from datetime import date as _date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecrm.errors import ParameterError, SettingsError

__all__ = [
    "CANONICAL_COLUMNS",
    "CURRENCIES",
    "AnalysisSettings",
    "ChannelSettings",
    "ClusterSettings",
    "CohortSettings",
    "CostsSource",
    "CpmSettings",
    "CtbSettings",
    "CustomersSource",
    "DecileSettings",
    "ExcludeProducts",
    "ExportSettings",
    "FindingsSettings",
    "KpiSettings",
    "LifecycleSettings",
    "LtvSettings",
    "ProductMaster",
    "ProductSettings",
    "RfmSettings",
    "ShopSettings",
    "Source",
    "SubscriptionSettings",
    "SubscriptionsSource",
    "load_settings",
    "section",
]

_ISO_4217 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD
BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR
JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU
MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR
RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS
TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG
"""

_ISO_4217_BY_MINOR_UNIT = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: _ISO_4217,
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
#: The active ISO 4217 currency codes (no funds of precious metals, no testing
#: codes) with their minor units: the decimals an amount in the currency has.
#: The one currency table of ecrm: settings validate ``currency`` against it and
#: :mod:`ecrm.present.format` writes amounts with its decimals.
CURRENCIES: dict[str, int] = {
    code: unit for unit, codes in _ISO_4217_BY_MINOR_UNIT.items() for code in codes.split()
}

#: Canonical order-line columns of SPEC §1, in table order. ``unit_price`` is not
#: canonical: when mapped (and ``amount`` is not) ingestion computes
#: ``amount = quantity × unit_price``.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "order_id",
    "customer_id",
    "ordered_at",
    "amount",
    "quantity",
    "product_id",
    "product_name",
    "category",
    "taste",
    "brand",
    "channel",
    "status",
    "subscription_id",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("order_id", "customer_id", "ordered_at", "amount")
PRODUCT_ATTRIBUTES: tuple[str, ...] = ("product_name", "category", "taste", "brand")
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "email",
    "name",
    "phone",
    "address",
    "registered_at",
    "birth_date",
    "gender",
    "prefecture",
    "mail_opt_in",
)
#: Columns of the optional subscriptions table (SPEC §1, 定期).
SUBSCRIPTION_COLUMNS: tuple[str, ...] = (
    "subscription_id",
    "customer_id",
    "started_at",
    "cancelled_at",
    "product_id",
    "channel",
)
#: Columns of the optional costs table (SPEC §1, acquisition spend).
COST_COLUMNS: tuple[str, ...] = ("month", "channel", "cost")
#: Columns of the customers table that hold personal data; they never reach a report.
PERSONAL_COLUMNS: tuple[str, ...] = ("email", "name", "phone", "address", "birth_date")

#: The report languages (labels, headers and narration exist in both).
Lang = Literal["ja", "en"]
LANGS: tuple[str, ...] = ("ja", "en")


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is a known language, else raise :class:`ParameterError`.

    Raises
    ------
    ParameterError
        ``lang`` is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise ParameterError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang  # type: ignore[return-value]


#: What a shop slug (a folder under data/) or a table name may look like.
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """One raw export (or a glob of them), relative to the settings file."""

    path: str = Field(description="file path or glob, relative to the settings file")
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "utf-16", "cp932", "shift_jis"] = Field(
        "auto", description="CSV encoding; auto tells UTF-8, UTF-8 with BOM and CP932 apart"
    )
    sheet: str | int | None = Field(None, description="Excel sheet (default: the first)")
    delimiter: str = ","
    decimal: Literal[".", ","] = Field(
        ".", description="decimal separator of the file's numbers (SPEC §1: per source)"
    )
    skip_rows: int = Field(
        0, ge=0, description="title rows above the header line (an export's report title)"
    )


class ProductMaster(_Strict):
    """Optional product master joined on product_id to fill C, T and B."""

    path: str
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp932", "shift_jis"] = "auto"
    key: str = Field(description="the master's product id column")
    columns: dict[Literal["product_name", "category", "taste", "brand"], str] = Field(
        default_factory=dict, description="canonical attribute -> master column"
    )


class CustomersSource(_Strict):
    """Optional customers table (SPEC §1); personal data is read only for exports."""

    path: str
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp932", "shift_jis"] = "auto"
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical customer column -> raw column"
    )

    @field_validator("columns")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(CUSTOMER_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown customer column(s) {unknown}; known: {list(CUSTOMER_COLUMNS)}"
            )
        return v


def _known_columns(v: dict[str, str], known: tuple[str, ...], what: str) -> dict[str, str]:
    unknown = sorted(set(v) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} column(s) {unknown}; known: {list(known)}")
    return v


class SubscriptionsSource(_Strict):
    """Optional subscriptions table (定期, SPEC §1), shaped like the customers table.

    Columns: subscription_id, customer_id, started_at, cancelled_at (empty while
    active), product_id, channel; the first three are required. Default mapping:
    same-named columns. Read and checked by :mod:`ecrm.io.d2c`.
    """

    path: str
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp932", "shift_jis"] = "auto"
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical subscription column -> raw column"
    )

    @field_validator("columns")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        return _known_columns(v, SUBSCRIPTION_COLUMNS, "subscription")


class CostsSource(_Strict):
    """Optional costs table (acquisition spend per month × channel, SPEC §1).

    A cart-independent CSV an ad manager writes: month, channel, cost (default
    mapping: same-named columns). ``decimal`` is the file's decimal separator,
    as for an orders source. Read and checked by :mod:`ecrm.io.d2c`.
    """

    path: str
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp932", "shift_jis"] = "auto"
    decimal: Literal[".", ","] = "."
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical cost column -> raw column"
    )

    @field_validator("columns")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        return _known_columns(v, COST_COLUMNS, "cost")


def _check_ascending(v: tuple[float, ...]) -> tuple[float, ...]:
    if any(b <= a for a, b in itertools.pairwise(v)):
        raise ValueError(f"values must be strictly ascending, got {list(v)}")
    return v


class RfmSettings(_Strict):
    """RFM bins (SPEC §3). Edges are ascending; see each field."""

    method: Literal["fixed", "quantile"] = "fixed"
    recency_days: tuple[int, int, int, int] = Field(
        (30, 90, 180, 365), description="upper inclusive edges of R = 5, 4, 3, 2; more is R = 1"
    )
    frequency: tuple[int, int, int, int] = Field(
        (1, 2, 4, 9), description="upper inclusive edges of F = 1, 2, 3, 4; more is F = 5"
    )
    monetary: tuple[float, float, float, float] = Field(
        (5_000, 10_000, 30_000, 100_000),
        description="M = 1 below the first edge, ..., M = 5 at or above the last",
    )
    segment_map: dict[str, list[str]] | None = Field(
        None,
        description="segment -> R×F cells like '55'; None uses ecrm.rfm.DEFAULT_SEGMENT_MAP",
    )
    money_thresholds: Literal["fixed", "auto"] | None = Field(
        None,
        description="auto: M bins from the shop's customers; None: auto for a non-JPY shop "
        "that does not set monetary (ecrm.analysis.rfm.resolve_thresholds)",
    )

    _ascending = field_validator("recency_days", "frequency", "monetary")(_check_ascending)


class DecileSettings(_Strict):
    period_months: int = Field(12, ge=1, le=120)
    groups: int = Field(10, ge=2, le=100)


class CpmSettings(_Strict):
    lapse_days: int = Field(240, ge=1)
    tenure_cutoffs: tuple[int, int] = (90, 210)
    spend_cutoff: float = Field(70_000, gt=0)
    money_thresholds: Literal["fixed", "auto"] | None = Field(
        None,
        description="auto: spend cut-off from the shop's customers; None: auto for a non-JPY "
        "shop that does not set spend_cutoff (ecrm.analysis.cpm.resolve_thresholds)",
    )
    months: int = Field(12, ge=1, le=60)

    _tenure_ascending = field_validator("tenure_cutoffs")(_check_ascending)


class LifecycleSettings(_Strict):
    rule: Literal["recency", "article"] = Field(
        "recency",
        description="recency: SPEC §3's recency-first rule; article: the source articles' "
        "tenure clauses (see ecrm.analysis.lifecycle)",
    )
    active_days: int = Field(120, ge=1)
    churn_days: int = Field(360, ge=1)
    months: int = Field(12, ge=1, le=60)

    @model_validator(mode="after")
    def _order(self) -> LifecycleSettings:
        if self.churn_days <= self.active_days:
            raise ValueError("churn_days must be greater than active_days")
        return self


class CohortSettings(_Strict):
    months: int = Field(24, ge=1, le=120, description="cohorts shown (most recent)")


class LtvSettings(_Strict):
    step_days: int = Field(30, ge=1)
    horizon_days: int = Field(360, ge=1)
    ladder_max: int = Field(10, ge=2, le=50)
    lapse_days: int = Field(240, ge=1, description="purchase-count ladder: lapsed at n")
    f2_windows: tuple[int, ...] = (30, 60, 90, 180, 360)
    predict_months: int = Field(12, ge=1, le=60)
    predict_min_repeat_customers: int = Field(
        100, ge=1, description="predicted value: fewer repeat customers and no model is fitted"
    )
    predict_horizons_months: tuple[int, ...] = Field(
        (3, 6, 12), min_length=1, description="predicted value: horizons in months"
    )
    discount_rate_annual: float = Field(
        0.0, ge=0, le=1, description="predicted value: annual discount rate (0: undiscounted)"
    )

    @field_validator("predict_horizons_months")
    @classmethod
    def _horizons_valid(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(h < 1 or h > 60 for h in v) or list(v) != sorted(set(v)):
            raise ValueError(f"horizons must be ascending distinct months in 1…60, got {list(v)}")
        return v


class ClusterSettings(_Strict):
    k: int | None = Field(None, ge=2, le=30, description="fixed k; None chooses by silhouette")
    k_range: tuple[int, int] = (2, 8)
    # 10,000: on the 30,000-customer demo shops the same k as with 20,000 and
    # silhouettes within 0.01 for the chosen k, in a quarter of the time
    # (the silhouette is quadratic in the sample)
    silhouette_sample: int = Field(10_000, ge=100)
    random_state: int = 0

    _k_ascending = field_validator("k_range")(_check_ascending)


class CtbSettings(_Strict):
    top_n: int = Field(3, ge=1, le=20)
    min_pair_support: float = Field(0.001, ge=0, le=1)


class KpiSettings(_Strict):
    months: int = Field(24, ge=2, le=120)
    f2_days: int = 90
    f2_lag_months: int = 3
    ltv_lag_months: int = 12


class SubscriptionSettings(_Strict):
    """定期 (SPEC §1, §3): without a subscriptions table, lapse after the last delivery."""

    lapse_days: int = Field(
        60,
        ge=1,
        description="SPEC's subscription_lapse_days: cancelled on the day after the last "
        "delivery + this many days (only without a subscriptions table)",
    )


class ChannelSettings(_Strict):
    """Channels and acquisition cost (広告LTV, SPEC §3)."""

    gross_margin: float | None = Field(
        None, gt=0, le=1, description="share of revenue kept as margin; None: revenue basis"
    )


class ExcludeProducts(_Strict):
    """Products left out of the entry-product and cross-purchase analyses (SPEC §3)."""

    ids: list[str] = Field(default_factory=list, description="product ids, as normalised")
    name_patterns: list[str] = Field(
        default_factory=list, description="regular expressions searched in product_name"
    )

    @field_validator("name_patterns")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"name pattern {p!r} is not a valid regex: {e}") from e
        return v

    @property
    def pattern(self) -> str | None:
        """The name patterns as one regex (``a|b``), None without any."""
        return "|".join(f"(?:{p})" for p in self.name_patterns) or None


class ProductSettings(_Strict):
    """Products (商品別, SPEC §3)."""

    exclude_products: ExcludeProducts = ExcludeProducts()
    min_product_customers: int = Field(
        30, ge=1, description="entry products with fewer new customers are not listed"
    )


class AnalysisSettings(_Strict):
    """Every analysis threshold of SPEC §3, with SPEC's defaults."""

    rfm: RfmSettings = RfmSettings()
    decile: DecileSettings = DecileSettings()
    cpm: CpmSettings = CpmSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    cohort: CohortSettings = CohortSettings()
    ltv: LtvSettings = LtvSettings()
    cluster: ClusterSettings = ClusterSettings()
    ctb: CtbSettings = CtbSettings()
    kpi: KpiSettings = KpiSettings()
    subscriptions: SubscriptionSettings = SubscriptionSettings()
    channels: ChannelSettings = ChannelSettings()
    products: ProductSettings = ProductSettings()


class TableSettings(_Strict):
    csv_headers: Literal["labels", "codes"] = Field(
        "labels",
        description="header row of tables/*.csv: labels in the report's language, or column codes",
    )


class FindingsSettings(_Strict):
    """Thresholds of the month's findings (:mod:`ecrm.analysis.findings`)."""

    min_segment_change: float = Field(
        0.10, ge=0, description="a segment's relative month-on-month change that counts"
    )
    min_customers: int = Field(
        30, ge=1, description="smallest segment / category / cohort a finding is about"
    )
    min_kpi_change: float = Field(
        0.10, ge=0, description="relative month-on-month change of an amount KPI that counts"
    )
    min_rate_change_pt: float = Field(
        2.0, ge=0, description="month-on-month change of a rate KPI, in points, that counts"
    )
    max_findings: int = Field(7, ge=0, le=20, description="findings shown on the index")


class ExportSettings(_Strict):
    include_email: bool = Field(False, description="segment exports may carry email")
    no_contact_channels: list[str] = Field(
        default_factory=list,
        description="channels whose buyers the shop may not contact (marketplaces, e.g. "
        "rakuten, amazon): a customer whose first purchase came through one of them and who "
        "never bought through another channel is left out of every segment list",
    )


class ShopSettings(_Strict):
    """A shop's settings (see ``data/example-settings.yaml`` for every key).

    Paths in the file are relative to the file's folder; ``base_dir`` is set by
    :func:`load_settings` and is not a key of the file.
    """

    name: Annotated[str, Field(description="shop slug: lower-case letters, digits, - and _")]
    display_name: str | None = None
    timezone: str = "Asia/Tokyo"
    currency: str = Field(
        "JPY", description="ISO 4217 code, upper case (JPY, GBP, USD...): see CURRENCIES"
    )
    preset: Literal["shopify", "ec-cube", "futureshop", "rakuten", "amazon"] | None = None
    sources: list[Source] = Field(min_length=1)
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical column -> raw column name"
    )
    constants: dict[str, str] = Field(
        default_factory=dict, description="canonical column -> constant value for every line"
    )
    product_master: ProductMaster | None = None
    customers: CustomersSource | None = None
    subscriptions: SubscriptionsSource | None = None
    costs: CostsSource | None = None
    exclude_statuses: list[str] = Field(default_factory=lambda: ["cancelled", "test"])
    return_order_pattern: str | None = Field(
        None, description="regex on order_id marking return/cancellation orders (summary only)"
    )
    strip_float_suffix: bool = Field(
        True, description="customer_id '17850.0' -> '17850' (a spreadsheet artefact)"
    )
    guest_ids: list[str] = Field(
        default_factory=list,
        description="customer ids that mean 'no customer' in this shop's exports (e.g. '0'), "
        "read as guests like the null markers",
    )
    min_order_date: _date = Field(
        _date(2000, 1, 1), description="orders before this day are errors (SPEC §1 dates)"
    )
    export_complete: bool = Field(
        False,
        description="the exports hold the shop's whole history from its first order; "
        "false: the first month's cohort is left-censored (ecrm.analysis.censoring)",
    )
    allow_external_sources: bool = Field(
        False,
        description="read sources that resolve outside the shop folder (symlinks, ../, "
        "absolute paths); off by default",
    )
    analysis: AnalysisSettings = AnalysisSettings()
    tables: TableSettings = TableSettings()
    exports: ExportSettings = ExportSettings()
    findings: FindingsSettings = FindingsSettings()
    base_dir: Path = Field(Path("."), exclude=True)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError(
                f"shop name {v!r} is not a slug (lower-case letters, digits, '-' and '_', "
                "starting with a letter or digit, at most 64 characters)"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name like Asia/Tokyo)") from e
        return v

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, v: str) -> str:
        if v in CURRENCIES:
            return v
        aliases = {"YEN": "JPY", "円": "JPY", "¥": "JPY", "£": "GBP", "$": "USD", "€": "EUR"}
        near = v.upper() if v.upper() in CURRENCIES else aliases.get(v.strip().upper())
        hint = f" (did you mean {near!r}?)" if near else " (use an ISO 4217 code like JPY or GBP)"
        raise ValueError(f"unknown currency {v!r}{hint}")

    @field_validator("columns", "constants")
    @classmethod
    def _canonical(cls, v: dict[str, str]) -> dict[str, str]:
        allowed = set(CANONICAL_COLUMNS) | {"unit_price"}
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"unknown canonical column(s) {unknown}; known: {sorted(allowed)}")
        return v

    @field_validator("return_order_pattern")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"return_order_pattern is not a valid regex: {e}") from e
        return v

    def resolve(self, path: str) -> Path:
        """Return ``path`` resolved against the settings file's folder."""
        p = Path(path)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def shop_dir(self) -> Path:
        """The shop's folder (where its settings file lives)."""
        return self.base_dir


def _unknown_key_message(err: ValidationError, data: dict[str, Any]) -> list[str]:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        if e["type"] == "extra_forbidden":
            key = str(e["loc"][-1])
            parent_fields = _fields_at(e["loc"][:-1])
            # a shortened name ("recency" for "recency_days") beats a similar-looking one
            prefixed = [f for f in parent_fields if f.startswith(key)]
            hint = (
                prefixed
                if len(prefixed) == 1
                else difflib.get_close_matches(key, parent_fields, n=1)
            )
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            lines.append(f"unknown key {loc!r}{extra}")
        elif e["type"] == "missing":
            lines.append(f"missing key {loc!r}")
        else:
            lines.append(f"{loc or '(top level)'}: {e['msg']}")
    return lines


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: Any = ShopSettings
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for cand in getattr(ann, "__args__", ()) or (ann,):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                model = cand
                break
        else:
            args = getattr(ann, "__args__", ())
            inner = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if not inner:
                return []
            model = inner[0]
    return list(getattr(model, "model_fields", {}))


def load_settings(path: str | Path) -> ShopSettings:
    """Read and validate a shop settings file.

    Parameters
    ----------
    path : str or Path
        A YAML file, or a shop folder holding ``settings.yaml``.

    Returns
    -------
    ShopSettings
        Validated settings; relative paths resolve against the file's folder.

    Raises
    ------
    SettingsError
        The file is missing, is not YAML, or has unknown, missing or invalid keys
        (every problem is listed, each by its dotted key).

    Examples
    --------
    >>> s = load_settings("data/demo-apparel")  # doctest: +SKIP
    >>> s.analysis.cpm.lapse_days
    240
    """
    p = Path(path)
    if p.is_dir():
        p = p / "settings.yaml"
    if not p.is_file():
        raise SettingsError(f"settings file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise SettingsError(f"{p}: not valid YAML/UTF-8: {e}") from e
    if not isinstance(data, dict):
        raise SettingsError(f"{p}: expected a mapping of keys at the top level")
    if "base_dir" in data:
        raise SettingsError(f"{p}: unknown key 'base_dir'")
    data.setdefault("name", p.parent.name)
    try:
        return ShopSettings(**data, base_dir=p.parent.resolve())
    except ValidationError as e:
        lines = _unknown_key_message(e, data)
        raise SettingsError(f"{p}: invalid settings:\n  - " + "\n  - ".join(lines)) from None


#: One section of :class:`AnalysisSettings` (RfmSettings, CpmSettings…).
SectionT = TypeVar("SectionT", bound=BaseModel)


def section(settings: ShopSettings | SectionT | None, kind: type[SectionT]) -> SectionT:
    """The analysis settings section of type ``kind`` that ``settings`` stands for.

    Every analysis takes ``settings`` as a whole shop's settings, as the one
    section it reads, or as None; this turns any of the three into the section.

    Parameters
    ----------
    settings : ShopSettings, section or None
        A shop's settings (its ``analysis`` section of type ``kind`` is
        returned), the section itself (returned as it is) or None (the
        section's defaults, SPEC §3).
    kind : type
        A section class of :class:`AnalysisSettings`: ``RfmSettings``,
        ``DecileSettings``, ``CpmSettings``, ``LifecycleSettings``,
        ``CohortSettings``, ``LtvSettings``, ``ClusterSettings``,
        ``CtbSettings``, ``KpiSettings``, ``SubscriptionSettings``,
        ``ChannelSettings`` or ``ProductSettings``.

    Returns
    -------
    section
        An instance of ``kind`` (not a copy: do not modify it).

    Raises
    ------
    ParameterError
        ``kind`` is not a section of :class:`AnalysisSettings` (only checked
        when ``settings`` is a ShopSettings).

    Examples
    --------
    >>> section(None, CpmSettings).lapse_days
    240
    >>> shop = ShopSettings(
    ...     name="s", sources=[{"path": "raw/*.csv"}], analysis={"cpm": {"lapse_days": 180}}
    ... )
    >>> section(shop, CpmSettings).lapse_days
    180
    >>> section(CpmSettings(lapse_days=90), CpmSettings).lapse_days
    90
    """
    if settings is None:
        return kind()
    if not isinstance(settings, ShopSettings):
        return settings
    for name, field in AnalysisSettings.model_fields.items():
        if field.annotation is kind:
            return getattr(settings.analysis, name)
    raise ParameterError(f"{kind.__name__} is not a section of the analysis settings")
