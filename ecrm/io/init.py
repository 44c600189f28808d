"""``ecrm init``: the first hour with a new client's exports, as a proposal the consultant reads.

:func:`propose` sniffs every file (:mod:`ecrm.io.sniff`), tells the orders
exports from a product master and a customers table by the columns it finds,
recognises a cart preset from the header (:func:`ecrm.io.presets.recognise`) or
proposes the column mapping (:mod:`ecrm.io.mapping`), and proposes the shop
keys the values call for. :func:`render_settings` writes all of it as a
``settings.yaml`` with a comment beside each guess saying why;
:func:`write_settings` saves it (never over an existing file unless asked);
:func:`ecrm.io.dryrun.dry_run` ingests into a temporary folder — nothing is
written to the shop — and returns the quality summary or the problems grouped by
column and message.

Choices where SPEC is silent (the README's "Adding a client shop" lists them):

* **Sources** are recorded, never copied: relative to the shop folder when the
  file is inside it, else absolute with ``allow_external_sources: true`` and a
  comment saying so. Files of one folder with the same header become one glob
  (``raw/orders_*.csv``) when that glob matches exactly them.
* **One mapping for all orders files** (a settings file has one ``columns``): it
  is proposed from the largest group of same-header files; a group that lacks a
  mapped column is left out, with a note.
* **Roles**: a file with order id, date and amount (or unit price and quantity)
  is an orders export; without an order id, one with a product id and product
  attributes is the product master, one with a customer id the customers table.
* **Excluded statuses**: status values that say cancelled or test (キャンセル,
  取消, テスト, cancel, void, test…) are proposed; every value is listed in the
  comment so the consultant can add others (e.g. 返品 when returns are not
  negative lines).
* **Returns**: when the orders with a negative net amount share an id prefix or
  suffix (``C536379``, ``A0001-R``) that other orders do not, it becomes
  ``return_order_pattern`` (it changes the summary's return count, no total).
* **Time zone and currency**: Asia/Tokyo and JPY unless a ``Country`` (国) column
  names one country of a small table (United Kingdom → Europe/London, GBP…) or a
  ``currency`` column one currency; amounts with fractions under JPY get a
  warning comment.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ecrm.errors import SettingsError
from ecrm.io.init_keys import d2c_role, d2c_source, non_merchandise
from ecrm.io.mapping import Guess, normalise_name, propose_columns, to_numbers
from ecrm.io.presets import PRESETS, recognise
from ecrm.io.sniff import FileSniff, date_format, sniff_file
from ecrm.settings import CANONICAL_COLUMNS, CUSTOMER_COLUMNS, SLUG, load_settings

__all__ = ["Proposal", "SourceProposal", "propose", "render_settings", "write_settings"]

#: Status values that mean "no sale" (cancelled, test, voided), matched case-insensitively.
EXCLUDE_STATUS = re.compile(r"cancel|キャンセル|取消|取り消|test|テスト|void|購入処理中", re.I)

#: A dominant country value -> (time zone, currency). Static data.
COUNTRIES: dict[str, tuple[str, str]] = {
    "united kingdom": ("Europe/London", "GBP"),
    "uk": ("Europe/London", "GBP"),
    "japan": ("Asia/Tokyo", "JPY"),
    "日本": ("Asia/Tokyo", "JPY"),
    "germany": ("Europe/Berlin", "EUR"),
    "france": ("Europe/Paris", "EUR"),
}

#: Canonical customer columns a customers file may name under other headers.
_CUSTOMER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "会員ID",
        "顧客ID",
        "顧客番号",
        "会員番号",
        "customer_id",
        "member_id",
        "user_id",
    ),
    "email": ("メールアドレス", "email", "e-mail", "mail"),
    "registered_at": (
        "登録日",
        "会員登録日",
        "入会日",
        "registered_at",
        "created_at",
        "signup_date",
    ),
    "birth_date": ("誕生日", "生年月日", "birth_date", "birthday"),
    "gender": ("性別", "gender", "sex"),
    "prefecture": ("都道府県", "prefecture", "state"),
    "mail_opt_in": ("メルマガ", "メール配信", "mail_opt_in", "accepts_marketing", "opt_in"),
}


@dataclass
class SourceProposal:
    """One ``sources`` entry: a path or glob and the read options, each with its reason."""

    path: str
    files: list[Path]
    options: dict[str, object]
    notes: list[str]


@dataclass
class Proposal:
    """What ``ecrm init`` proposes for one shop (see :func:`propose`)."""

    shop: str
    shop_dir: Path
    sources: list[SourceProposal]
    preset: str | None
    columns: dict[str, Guess]
    constants: dict[str, tuple[str, str]] = field(default_factory=dict)
    timezone: tuple[str, str] = ("Asia/Tokyo", "the default (no country column says otherwise)")
    currency: tuple[str, str] = (
        "JPY",
        "the default (no currency or country column says otherwise)",
    )
    exclude_statuses: tuple[list[str], str] | None = None
    return_order_pattern: tuple[str, str] | None = None
    product_master: dict[str, object] | None = None
    customers: dict[str, object] | None = None
    subscriptions: dict[str, object] | None = None
    costs: dict[str, object] | None = None
    exclude_products: tuple[list[str], list[str]] | None = None
    external: bool = False
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """What was proposed, in a few lines for the terminal (the reasons are in the file)."""
        lines = [f"sources: {', '.join(s.path for s in self.sources)}"]
        if self.preset:
            lines.append(f"preset: {self.preset} (recognised from the header)")
        order = [*CANONICAL_COLUMNS, "unit_price"]
        width = max((len(k) for k in self.columns), default=0)
        for canon in sorted(self.columns, key=order.index):
            g = self.columns[canon]
            also = f"   (also fits: {', '.join(c for c, _ in g.alternatives)})"
            lines.append(f"  {canon:<{width}} <- {g.column}{also if g.alternatives else ''}")
        for canon, (value, _) in self.constants.items():
            lines.append(f"  {canon:<{width}} = {value!r} on every line")
        for key, entry in (
            ("product master", self.product_master),
            ("customers", self.customers),
            ("subscriptions", self.subscriptions),
            ("costs", self.costs),
        ):
            if entry is not None:
                lines.append(f"{key}: {entry['path']}")
        if self.exclude_products is not None:
            lines.append(f"exclude_products: {self.exclude_products[0]}")
        if self.currency[0] != "JPY":
            lines.append("money_thresholds: auto (RFM M bins and CPM cut-off from the customers)")
        if self.exclude_statuses is not None:
            lines.append(f"exclude_statuses: {self.exclude_statuses[0]}")
        if self.return_order_pattern is not None:
            lines.append(f"return_order_pattern: {self.return_order_pattern[0]!r}")
        lines.append(f"timezone {self.timezone[0]}, currency {self.currency[0]}")
        return "\n".join(lines)

    @property
    def competing(self) -> dict[str, Guess]:
        """The guesses with alternatives of the same kind (the questions to ask)."""
        return {k: g for k, g in self.columns.items() if g.alternatives}


# --------------------------------------------------------------------------- helpers


def _record_path(path: Path, shop_dir: Path) -> tuple[str, bool]:
    """``path`` as a source records it: relative inside the shop folder, else absolute."""
    real = path.resolve()
    try:
        return real.relative_to(shop_dir.resolve()).as_posix(), False
    except ValueError:
        return str(real), True


def _group_pattern(files: list[Path]) -> list[Path | str]:
    """One glob for same-folder files when it matches exactly them, else the files."""
    if len(files) < 2 or len({f.parent for f in files}) > 1:
        return list(files)
    names = [f.name for f in files]
    prefix = os.path.commonprefix(names)  # noqa: RUF071 (character by character is meant)
    rests = [n[len(prefix) :][::-1] for n in names]
    suffix = os.path.commonprefix(rests)[::-1]  # noqa: RUF071
    # cut at word boundaries: orders_2023/orders_2024 -> orders_*, not orders_202*
    prefix = re.sub(r"[A-Za-z0-9]+$", "", prefix)
    suffix = re.sub(r"^[A-Za-z0-9]+", "", suffix)
    if not prefix and not suffix:
        return list(files)
    pattern = glob.escape(prefix) + "*" + glob.escape(suffix)
    matched = sorted(Path(p).resolve() for p in glob.glob(str(files[0].parent / pattern)))
    if matched == sorted(f.resolve() for f in files):
        return [str(files[0].parent / (prefix + "*" + suffix))]
    return list(files)


def _line_amounts(
    frame: pd.DataFrame, columns: dict[str, str], decimal: str = "."
) -> pd.Series | None:
    if "amount" in columns and columns["amount"] in frame:
        return to_numbers(frame[columns["amount"]], decimal)
    if {"unit_price", "quantity"} <= set(columns) and {
        columns["unit_price"],
        columns["quantity"],
    } <= set(frame.columns):
        return to_numbers(frame[columns["unit_price"]], decimal) * to_numbers(
            frame[columns["quantity"]], decimal
        )
    return None


def _escape(text: str) -> str:
    """``re.escape`` without escaping ``-`` (a readable ``-R$``, the same regex)."""
    return re.escape(text).replace("\\-", "-")


def _return_pattern(
    frame: pd.DataFrame, columns: dict[str, str], decimal: str
) -> tuple[str, str] | None:
    amounts = _line_amounts(frame, columns, decimal)
    if amounts is None or "order_id" not in columns:
        return None
    ids = frame[columns["order_id"]].astype("string").str.strip()
    net = amounts.groupby(ids).sum()
    negative = net.index[net < 0]
    positive = net.index[net > 0]
    if len(negative) < 1 or len(positive) < 1:
        return None
    neg = pd.Series(negative, dtype="string")
    pos = pd.Series(positive, dtype="string")
    candidates = []
    pre = neg.str.extract(r"^([A-Za-z]+)(?=[0-9])", expand=False).dropna()
    if len(pre):
        candidates.append(("^" + _escape(pre.mode().iloc[0]), "prefix"))
    suf = neg.str.extract(r"([-_][A-Za-z]+)$", expand=False).dropna()
    if len(suf):
        candidates.append((_escape(suf.mode().iloc[0]) + "$", "suffix"))
    for pattern, kind in candidates:
        hit_neg = float(neg.str.contains(pattern, regex=True).mean())
        hit_pos = float(pos.str.contains(pattern, regex=True).mean())
        if hit_neg >= 0.9 and hit_pos <= 0.01:
            return pattern, (
                f"{hit_neg:.0%} of the {len(neg):,} orders with a negative net amount have this id "
                f"{kind}, {hit_pos:.1%} of the others: they are returns/cancellations"
            )
    return None


def _statuses(frame: pd.DataFrame, column: str) -> tuple[list[str], str]:
    values = frame[column].astype("string").str.strip().fillna("")
    counts = values[values != ""].value_counts()
    listed = ", ".join(f"{v} ({n:,})" for v, n in counts.head(12).items())
    more = f" and {len(counts) - 12} more" if len(counts) > 12 else ""
    found = [str(v) for v in counts.index if EXCLUDE_STATUS.search(str(v))]
    why = f"values of {column!r}: {listed}{more}"
    return found, why


def _country_and_currency(frame: pd.DataFrame, proposal: Proposal) -> None:
    by_name = {normalise_name(c): c for c in frame.columns}
    for key in ("country", "国", "国名"):
        col = by_name.get(key)
        if col is None:
            continue
        values = frame[col].astype("string").str.strip().dropna()
        if not len(values):
            continue
        top, n = Counter(values).most_common(1)[0]
        if top.casefold() in COUNTRIES and n / len(values) >= 0.5:
            tz, cur = COUNTRIES[top.casefold()]
            why = f"{n / len(values):.0%} of lines name {top!r} in {col!r}"
            proposal.timezone = (tz, why)
            proposal.currency = (cur, why)
        break
    col = by_name.get("currency") or by_name.get("通貨")
    if col is not None:
        values = frame[col].astype("string").str.strip().dropna()
        values = values[values != ""]
        if len(values) and values.nunique() == 1 and re.fullmatch(r"[A-Z]{3}", values.iloc[0]):
            proposal.currency = (values.iloc[0], f"every line has {col!r} = {values.iloc[0]}")


def _role(sniff: FileSniff, guesses: dict[str, Guess], preset: str | None) -> str:
    if preset is not None:
        return "orders"
    has = set(guesses)
    if {"order_id", "ordered_at"} <= has and ("amount" in has or {"unit_price", "quantity"} <= has):
        return "orders"
    if (
        "order_id" not in has
        and "product_id" in has
        and has
        & {
            "category",
            "taste",
            "brand",
            "product_name",
        }
    ):
        return "products"
    if "order_id" not in has and (role := d2c_role(sniff.header)) is not None:
        return role
    header = {normalise_name(h) for h in sniff.header}
    if "order_id" not in has and (
        "customer_id" in has
        or header & {normalise_name(n) for n in _CUSTOMER_SYNONYMS["customer_id"]}
    ):
        return "customers"
    return "unknown"


def _source_options(sniff: FileSniff) -> tuple[dict[str, object], list[str]]:
    """The read options of a group of same-header files, and their reasons."""
    options: dict[str, object] = {}
    notes = []
    if sniff.format == "csv":
        if sniff.delimiter != ",":
            options["delimiter"] = sniff.delimiter
        notes.append(f"delimiter {sniff.delimiter!r}: {sniff.notes.get('delimiter', '')}")
    if sniff.skip_rows:
        options["skip_rows"] = sniff.skip_rows
        notes.append(f"skip_rows {sniff.skip_rows}: {sniff.notes['skip_rows']}")
    if sniff.decimal != ".":
        options["decimal"] = sniff.decimal
        notes.append(f"decimal {sniff.decimal!r}: {sniff.notes['decimal']}")
    return options, notes


def _encoding_note(sniff: FileSniff) -> str:
    return f"{sniff.path.name}: {sniff.encoding}, as {sniff.notes.get('encoding', '')}"


# --------------------------------------------------------------------------- propose


def propose(
    files: Sequence[str | Path],
    shop_dir: str | Path,
    *,
    shop: str | None = None,
    choose: Callable[[str, list[tuple[str, str]]], str] | None = None,
) -> Proposal:
    """Propose a shop's settings from its raw exports.

    Parameters
    ----------
    files : sequence of str or Path
        The exports: orders files (one or more, of one header or several), and
        optionally a product master and a customers table.
    shop_dir : str or Path
        The shop folder (``data/<shop>``) the settings will live in; source paths
        inside it are recorded relative to it.
    shop : str, optional
        The shop slug (default: the folder's name).
    choose : callable, optional
        ``choose(canonical, [(raw column, reason), ...]) -> raw column`` decides
        between competing columns (the CLI asks on the terminal); default: the
        first, the best-scored.

    Returns
    -------
    Proposal

    Raises
    ------
    SettingsError
        A file does not exist, the shop name is no slug, or no file is an orders
        export (the message lists what was found in each).
    IngestError
        A file cannot be read at all (undecodable, damaged).

    Examples
    --------
    >>> p = propose(["data/acme/raw/orders.csv"], "data/acme")  # doctest: +SKIP
    >>> {k: g.column for k, g in p.columns.items()}  # doctest: +SKIP
    {'order_id': '受注番号', 'customer_id': '会員ID', ...}
    """
    shop_dir = Path(shop_dir)
    shop = shop or shop_dir.name
    if not SLUG.match(shop):
        raise SettingsError(
            f"shop name {shop!r} is not a slug (lower-case letters, digits, '-' and '_')"
        )
    paths = [Path(f) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SettingsError(f"no such file(s): {', '.join(missing)}")
    sniffs = [sniff_file(p) for p in paths]
    analysed = []
    for s in sniffs:
        preset = recognise(s.header)
        analysed.append((s, preset, propose_columns(s.frame, decimal=s.decimal)))
    orders = [(s, p, g) for s, p, g in analysed if _role(s, g, p) == "orders"]
    if not orders:
        found = "; ".join(f"{s.path.name}: {s.header[:12]}" for s in sniffs)
        raise SettingsError(
            "no orders export among the files (none has an order id, a date and an amount "
            f"column that ecrm recognises). Headers found: {found}. Map the columns by hand "
            "(see data/example-settings.yaml)"
        )
    groups: dict[tuple[object, ...], list[tuple[FileSniff, str | None, dict[str, Guess]]]] = {}
    for item in orders:
        s = item[0]
        groups.setdefault((tuple(s.header), s.delimiter, s.skip_rows, s.decimal), []).append(item)
    main_key = max(groups, key=lambda k: sum(len(i[0].frame) for i in groups[k]))
    preset = groups[main_key][0][1]
    main_frame = pd.concat([i[0].frame for i in groups[main_key]], ignore_index=True)
    guesses = propose_columns(main_frame, decimal=str(main_key[3]))
    if preset is not None:
        guesses = _preset_guesses(preset, guesses)
    if choose is not None:
        for canon, g in guesses.items():
            if g.alternatives:
                options = [(g.column, g.reason), *g.alternatives]
                picked = choose(canon, options)
                for col, why in options:
                    if col == picked:
                        g.column, g.reason = col, why + " (chosen on the terminal)"
                g.alternatives = [(c, w) for c, w in options if c != picked]
    proposal = Proposal(shop=shop, shop_dir=shop_dir, sources=[], preset=preset, columns=guesses)
    mapped = {k: g.column for k, g in guesses.items()}
    if preset is not None:
        mapped = {**PRESETS[preset]["columns"], **mapped}
        for canon, value in PRESETS[preset].get("constants", {}).items():
            if canon not in mapped:
                proposal.constants[canon] = (
                    value,
                    f"the {preset} export has no {canon} column: every order is a guest order",
                )
    if "customer_id" not in mapped and "customer_id" not in proposal.constants:
        proposal.constants["customer_id"] = (
            "",
            "no customer column found: every order is a guest order until you map "
            "`columns: customer_id:` to the export's member id",
        )
    for key, items in groups.items():
        header = set(key[0])  # type: ignore[arg-type]
        lacking = sorted(c for c in mapped.values() if c not in header)
        names = ", ".join(i[0].path.name for i in items)
        if lacking:
            proposal.notes.append(
                f"left out {names}: its header lacks the mapped column(s) {lacking}"
            )
            continue
        options, notes = _source_options(items[0][0])
        by_path = {i[0].path: i[0] for i in items}
        for entry in _group_pattern(list(by_path)):
            recorded, external = _record_path(Path(entry), shop_dir)
            proposal.external |= external
            members = list(by_path) if isinstance(entry, str) else [Path(entry)]
            encodings = [_encoding_note(by_path[m]) for m in members]
            proposal.sources.append(SourceProposal(recorded, members, options, encodings + notes))
    _values_findings(main_frame, mapped, proposal, str(main_key[3]))
    proposal.exclude_products = non_merchandise(
        main_frame, mapped.get("product_id"), mapped.get("product_name")
    )
    for s, p, g in analysed:
        role = _role(s, g, p)
        if role == "products" and proposal.product_master is None:
            proposal.product_master = _master(s, g, proposal)
        elif role == "customers" and proposal.customers is None:
            proposal.customers = _customers(s, proposal)
        elif role in ("subscriptions", "costs") and getattr(proposal, role) is None:
            setattr(proposal, role, _d2c(s, role, proposal))
        elif role == "unknown":
            proposal.notes.append(
                f"not used: {s.path.name} (no order id, date and amount, product master or "
                f"customer columns recognised; header {s.header[:12]})"
            )
    return proposal


def _preset_guesses(preset: str, found: dict[str, Guess]) -> dict[str, Guess]:
    spec = PRESETS[preset]
    out = {
        canon: Guess(canon, col, f"preset {preset} ({spec['source']})")
        for canon, col in spec["columns"].items()
    }
    mapped = set(spec["columns"].values())
    for canon, g in found.items():
        pair = {"amount", "unit_price"}
        if canon in out or g.column in mapped or (canon in pair and out.keys() & pair):
            continue
        if canon == "customer_id" and "customer_id" in spec.get("constants", {}):
            continue
        out[canon] = Guess(canon, g.column, g.reason + f" (not in the {preset} preset)")
    return out


def _values_findings(
    frame: pd.DataFrame, mapped: dict[str, str], proposal: Proposal, decimal: str
) -> None:
    date_col = mapped.get("ordered_at")
    if date_col in frame:
        label, read, _ = date_format(frame[date_col])
        if label is not None and not read:
            proposal.notes.append(
                f"{date_col!r} holds dates like {label}, which ingestion does not read: "
                "export them as YYYY-MM-DD or YYYY/MM/DD"
            )
    status = mapped.get("status")
    if status in frame:
        found, why = _statuses(frame, status)
        preset_ex = PRESETS.get(proposal.preset or "", {}).get("exclude_statuses")
        if preset_ex:
            proposal.notes.append(
                f"excluded statuses: the {proposal.preset} preset's {list(preset_ex)}; {why}"
            )
        elif found:
            proposal.exclude_statuses = (found, f"they say cancelled or test; {why}")
        else:
            proposal.exclude_statuses = (
                [],
                f"no value says cancelled or test; {why}. Add the ones that are no sale",
            )
    pattern = _return_pattern(frame, mapped, decimal)
    if pattern is not None:
        proposal.return_order_pattern = pattern
    _country_and_currency(frame, proposal)
    amounts = _line_amounts(frame, mapped, decimal)
    if amounts is not None and proposal.currency[0] == "JPY":
        frac = float(((amounts - amounts.round()).abs() > 1e-9).mean())
        if frac > 0.01:
            proposal.currency = (
                "JPY",
                f"the default, BUT {frac:.0%} of line amounts have fractions and JPY has "
                "none: set the export's currency",
            )


def _master(s: FileSniff, g: dict[str, Guess], proposal: Proposal) -> dict[str, object]:
    recorded, external = _record_path(s.path, proposal.shop_dir)
    proposal.external |= external
    attrs = {k: g[k].column for k in ("product_name", "category", "taste", "brand") if k in g}
    return {
        "path": recorded,
        "key": g["product_id"].column,
        "columns": attrs,
        "why": f"{s.path.name} has a product id ({g['product_id'].column!r}) and "
        f"{', '.join(attrs)} but no order id: the product master",
    }


def _customers(s: FileSniff, proposal: Proposal) -> dict[str, object]:
    recorded, external = _record_path(s.path, proposal.shop_dir)
    proposal.external |= external
    by_name = {normalise_name(h): h for h in s.header}
    columns: dict[str, str] = {}
    for canon in CUSTOMER_COLUMNS:
        if canon in s.header:
            continue  # read under its own name
        for name in _CUSTOMER_SYNONYMS.get(canon, ()):
            if normalise_name(name) in by_name:
                columns[canon] = by_name[normalise_name(name)]
                break
    return {
        "path": recorded,
        "columns": columns,
        "why": f"{s.path.name} has a customer id but no order id: the customers table "
        "(personal columns are never stored; see `exports.include_email`)",
    }


def _d2c(s: FileSniff, role: str, proposal: Proposal) -> dict[str, object]:
    recorded, external = _record_path(s.path, proposal.shop_dir)
    proposal.external |= external
    what = (
        "a subscription id and a start date: the subscriptions table (定期)"
        if role == "subscriptions"
        else "a month, a channel and a cost: the acquisition costs table"
    )
    return {
        "path": recorded,
        "columns": d2c_source(s.header, role),
        "why": f"{s.path.name} has no order id but {what} (ecrm/io/d2c.py checks it)",
    }


# --------------------------------------------------------------------------- settings text


def _q(value: object) -> str:
    """A YAML scalar: JSON strings are valid YAML double-quoted scalars."""
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    return " # " + " ".join(str(text).split())


def render_settings(proposal: Proposal, *, absolute: bool = False) -> str:
    """The proposal as ``settings.yaml`` text, a comment beside each guess saying why.

    Parameters
    ----------
    proposal : Proposal
    absolute : bool, default False
        Write absolute source paths and ``allow_external_sources: true`` (the dry
        run's copy in a temporary folder).

    Returns
    -------
    str
        YAML that :func:`ecrm.settings.load_settings` accepts.
    """
    p = proposal
    out = [
        f"# Settings of shop {p.shop!r}, proposed by `ecrm init` from its raw exports.",
        "# Every guess carries its reason; check them, then run `ecrm ingest " + p.shop + "`.",
        "# Keys and defaults: data/example-settings.yaml.",
        f"name: {p.shop}",
        f"timezone: {_q(p.timezone[0])}{_comment(p.timezone[1])}",
        f"currency: {_q(p.currency[0])}{_comment(p.currency[1])}",
    ]
    if p.preset:
        why = f"the header has every column of the {p.preset} export: {PRESETS[p.preset]['source']}"
        out.append(f"preset: {p.preset}{_comment(why)}")
    if absolute or p.external:
        why = (
            "the dry run reads the raw files where they are"
            if absolute and not p.external
            else "a source lies outside the shop folder (recorded by `ecrm init`, not copied)"
        )
        out.append(f"allow_external_sources: true{_comment(why)}")
    out.append("sources:")
    for src in p.sources:
        path = (
            str(Path(src.files[0]).parent.resolve() / Path(src.path).name) if absolute else src.path
        )
        if absolute and "*" not in src.path:
            path = str(Path(src.files[0]).resolve())
        out.append(f"  - path: {_q(path)}" + _comment(f"{len(src.files)} file(s)"))
        for k, v in src.options.items():
            out.append(f"    {k}: {_q(v)}")
        out += [f"    # {n}" for n in src.notes]
    preset_cols = PRESETS.get(p.preset or "", {}).get("columns", {})
    own = {k: g for k, g in p.columns.items() if preset_cols.get(k) != g.column}
    if preset_cols:
        out.append("# the preset maps: " + ", ".join(f"{k} <- {v}" for k, v in preset_cols.items()))
    if own:
        out.append("columns:")
        order = [*CANONICAL_COLUMNS, "unit_price"]
        for canon in sorted(own, key=order.index):
            g = own[canon]
            out.append(f"  {canon}: {_q(g.column)}{_comment(g.reason)}")
            for col, why in g.alternatives:
                out.append(f"  # {canon}: {_q(col)} would also fit: {' '.join(why.split())}")
        if (
            "amount" not in own
            and "amount" not in preset_cols
            and "unit_price"
            in {
                **preset_cols,
                **{k: g.column for k, g in own.items()},
            }
        ):
            out.append("  # amount = quantity × unit_price (no net line amount column)")
    if p.constants:
        out.append("constants:")
        for canon, (value, why) in p.constants.items():
            out.append(f"  {canon}: {_q(value)}{_comment(why)}")
    if p.exclude_statuses is not None:
        values, why = p.exclude_statuses
        out.append(f"exclude_statuses: {_q(values)}{_comment(why)}")
    if p.return_order_pattern is not None:
        pattern, why = p.return_order_pattern
        out.append(f"return_order_pattern: {_q(pattern)}{_comment(why)}")
    for key, entry in (
        ("product_master", p.product_master),
        ("customers", p.customers),
        ("subscriptions", p.subscriptions),
        ("costs", p.costs),
    ):
        if entry is None:
            continue
        path = entry["path"]
        if absolute:
            path = (
                str((p.shop_dir / str(path)).resolve())
                if not Path(str(path)).is_absolute()
                else path
            )
        out.append(f"{key}:{_comment(entry['why'])}")
        out.append(f"  path: {_q(path)}")
        if "key" in entry:
            out.append(f"  key: {_q(entry['key'])}")
        cols = entry.get("columns") or {}
        if cols:
            out.append("  columns:")
            out += [f"    {k}: {_q(v)}" for k, v in cols.items()]  # type: ignore[union-attr]
    out += _analysis_keys(p)
    for note in p.notes:
        out.append(f"# NOTE: {' '.join(note.split())}")
    return "\n".join(out) + "\n"


def _analysis_keys(p: Proposal) -> list[str]:
    """``export_complete`` and the ``analysis`` keys a new shop should decide on."""
    out = [
        "# Does the export hold the shop's whole history, from its very first order? When",
        "# false, the first month's cohort holds everyone who bought before the export began",
        "# (the left-censored cohort): it is flagged and kept out of the headlines and of the",
        "# first-purchase tables. Set true only when the shop began within the export.",
        "export_complete: false",
        "analysis:",
    ]
    if p.currency[0] != "JPY":
        how = {
            "rfm": "the M bins are the 20/40/60/80th percentiles of their spend",
            "cpm": "the spend cut-off is the 80th percentile of the spend of those of 210+ days",
        }
        for key, fixed in (("rfm", "monetary"), ("cpm", "spend_cutoff")):
            why = (
                f"the shop is in {p.currency[0]}: SPEC's yen thresholds would not fit; auto "
                f"derives them from this shop's customers ({how[key]}) and each page states "
                f"them. To fix them, set {fixed} in {p.currency[0]} instead"
            )
            out += [f"  {key}:", f"    money_thresholds: auto{_comment(why)}"]
    else:
        out.append(
            "  # money thresholds: SPEC's yen defaults (rfm.monetary, cpm.spend_cutoff); "
            "`money_thresholds: auto` derives them from the shop's customers"
        )
    why = (
        "recency: SPEC's recency-first rule; article: the source articles' tenure clauses "
        "(初回リピート within 120 days of the first purchase, 休眠 under 360 days of tenure). "
        "Every customer falls into one segment either way"
    )
    out += ["  lifecycle:", f"    rule: recency{_comment(why)}"]
    if p.exclude_products is not None:
        ids, reasons = p.exclude_products
        why = (
            "these product lines look like postage, fees, samples or adjustments, not "
            "merchandise: " + ", ".join(reasons) + ". They stay in revenue; only the "
            "entry-product and cross-purchase tables leave them out. Remove any that is sold"
        )
        out += [
            "  products:",
            "    exclude_products:",
            f"      ids: {_q(ids)}{_comment(why)}",
        ]
    return out


def write_settings(proposal: Proposal, *, force: bool = False) -> Path:
    """Write ``<shop_dir>/settings.yaml`` from the proposal and check that it loads.

    Parameters
    ----------
    proposal : Proposal
    force : bool, default False
        Replace an existing settings.yaml (without it, an existing file is an error).

    Returns
    -------
    Path
        The settings file written.

    Raises
    ------
    SettingsError
        A settings.yaml exists and ``force`` is off, or the written text does not
        validate (then nothing is left behind).
    """
    target = proposal.shop_dir / "settings.yaml"
    if target.exists() and not force:
        raise SettingsError(
            f"{target} exists: `ecrm init` never overwrites a shop's settings "
            "(pass --force to replace it, or edit it by hand)"
        )
    text = render_settings(proposal)
    proposal.shop_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(".settings.yaml.init")
    tmp.write_text(text, encoding="utf-8")
    try:
        load_settings(tmp)
    except SettingsError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target
