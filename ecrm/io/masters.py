"""The optional side tables of a shop (product master, customers table) and customer ids.

Both tables are read with :func:`~ecrm.io.read.read_raw`; their problems are added to
the list that :func:`~ecrm.io.ingest.ingest` raises as one
:class:`~ecrm.errors.IngestError`. Personal columns of the customers table stay
out of the canonical data (SPEC §1).

Customer ids are normalised the same way in the orders and the customers table
(:func:`normalize_customer_ids`: NFKC, trimmed, ``17850.0`` → ``17850``, null
markers and the shop's ``guest_ids`` empty), and an id that is an email address
is replaced by a **keyed hash** (:func:`hash_customer_ids`: HMAC-SHA-256 of the
lower-cased address under the shop's secret key, ``h`` + 16 hex digits), so the
two tables still join and no address reaches the canonical data. The key
(:func:`customer_id_key`) is made at random the first time a shop needs it and
kept in ``data/<shop>/.customer-id-key``: without a key, anyone holding a
segment list and a guessed address could confirm it by hashing it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd
import pyarrow as pa_arrow

from ecrm import paths
from ecrm.errors import IngestError, InputProblem, SettingsError
from ecrm.io.read import read_raw
from ecrm.io.schema import header_list, is_null_marker, normalize_text, strip_text
from ecrm.settings import PERSONAL_COLUMNS, ShopSettings

__all__ = [
    "EMAIL",
    "customer_id_key",
    "hash_customer_ids",
    "normalize_customer_ids",
    "read_customers",
    "read_product_master",
]

#: What a customer id that is an email address looks like.
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"


def read_product_master(
    settings: ShopSettings, problems: list[InputProblem]
) -> pd.DataFrame | None:
    """Read the optional product master: product_id and the attributes it maps.

    Returns None without a master in the settings, or when it has problems
    (appended to ``problems``: unreadable, missing columns, or one product id
    with two different rows).
    """
    pm = settings.product_master
    if pm is None:
        return None
    path = settings.resolve(pm.path)
    label = pm.path
    if not path.is_file():
        raise SettingsError(f"shop {settings.name!r}: product master {path} not found")
    try:
        raw, enc = read_raw(path, fmt=pm.format, encoding=pm.encoding, label=label)
    except IngestError as e:
        problems.extend(e.problems)
        return None
    row_offset = 1 if enc == "parquet" else 2
    raw.columns = [str(c).strip() for c in raw.columns]
    needed = [pm.key, *pm.columns.values()]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        problems.append(
            InputProblem(
                label,
                None,
                None,
                f"missing column(s) {missing}; the file has {header_list(raw.columns)}",
            )
        )
        return None
    key = normalize_text(raw[pm.key])
    master = pd.DataFrame({"product_id": key.where(~is_null_marker(key), "")})
    for canon, col in pm.columns.items():
        master[canon] = strip_text(raw[col].astype("string")).replace("", pd.NA)
    master = master.drop_duplicates()
    clash = master.duplicated("product_id", keep=False)
    if clash.any():
        for idx in master.index[clash][:20]:
            problems.append(
                InputProblem(
                    label,
                    int(idx) + row_offset,
                    pm.key,
                    "product id listed twice with different attributes",
                    str(master.at[idx, "product_id"]),
                )
            )
        return None
    return master


def read_customers(
    settings: ShopSettings, problems: list[InputProblem], *, hash_ids: bool = False
) -> pa_arrow.Table | None:
    """Read the optional customers table, keeping personal data out unless exports need it.

    Customer ids are normalised as in the orders (:func:`normalize_customer_ids`);
    email ids are hashed with the shop's key, and with ``hash_ids`` (a preset
    keyed by email) every id is, so that the two tables join.
    """
    cs = settings.customers
    if cs is None:
        return None
    path = settings.resolve(cs.path)
    if not path.is_file():
        raise SettingsError(f"shop {settings.name!r}: customers file {path} not found")
    try:
        raw, enc = read_raw(path, fmt=cs.format, encoding=cs.encoding, label=cs.path)
    except IngestError as e:
        problems.extend(e.problems)
        return None
    row_offset = 1 if enc == "parquet" else 2
    raw.columns = [str(c).strip() for c in raw.columns]
    mapping = dict(cs.columns) or {
        c: c
        for c in raw.columns
        if c in ("customer_id", "email", "registered_at", "gender", "prefecture", "mail_opt_in")
    }
    missing = [c for c in mapping.values() if c not in raw.columns]
    if "customer_id" not in mapping:
        missing.append("customer_id (not mapped)")
    if missing:
        problems.append(InputProblem(cs.path, None, None, f"missing column(s) {missing}"))
        return None
    keep = {
        k: v
        for k, v in mapping.items()
        if k not in PERSONAL_COLUMNS or (k == "email" and settings.exports.include_email)
    }
    df = pd.DataFrame({k: strip_text(raw[v].astype("string")) for k, v in keep.items()})
    ids, _, _ = normalize_customer_ids(raw[mapping["customer_id"]], settings)
    emails = ids.str.fullmatch(EMAIL).fillna(False).astype(bool) | (hash_ids & (ids != ""))
    if emails.any():
        ids = ids.where(~emails, hash_customer_ids(ids[emails], customer_id_key(settings.shop_dir)))
    df["customer_id"] = ids
    df = df.drop_duplicates()
    clash = df.duplicated("customer_id", keep=False)
    for idx in df.index[clash][:20]:
        problems.append(
            InputProblem(
                cs.path,
                int(idx) + row_offset,
                mapping["customer_id"],
                "customer listed twice with different values",
                str(df.at[idx, "customer_id"]),
            )
        )
    df = df.replace("", pd.NA)
    return pa_arrow.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)


def normalize_customer_ids(
    raw: pd.Series, settings: ShopSettings
) -> tuple[pd.Series, dict[str, int], pd.Series]:
    """Customer ids as ingestion stores them, and the cells read as guests.

    NFKC and trimmed (:func:`~ecrm.io.schema.normalize_text`); ``17850.0`` →
    ``17850`` when ``strip_float_suffix`` is on; a null marker
    (:data:`~ecrm.io.schema.NULL_MARKERS`) or one of the shop's ``guest_ids`` is
    a guest (``""``). Email ids are not hashed here (:func:`hash_customer_ids`).

    Parameters
    ----------
    raw : Series
        The raw customer id column.
    settings : ShopSettings
        ``strip_float_suffix`` and ``guest_ids``.

    Returns
    -------
    (Series, dict, Series)
        The ids (``""`` for guests), the guest markers met (by their normalised
        text, with their number of cells) and the mask of ids whose ``.0`` was
        removed.
    """
    ids = normalize_text(raw)
    repaired = pd.Series(False, index=ids.index)
    if settings.strip_float_suffix:
        repaired = ids.str.fullmatch(r"\d+\.0+").fillna(False).astype(bool)
        ids = ids.where(~repaired, ids.str.replace(r"\.0+$", "", regex=True))
    guest_ids = [normalize_text(pd.Series([g])).iloc[0] for g in settings.guest_ids]
    marker = is_null_marker(ids) | ids.isin(guest_ids)
    counts = {str(k): int(v) for k, v in ids[marker].value_counts().sort_index().items()}
    return ids.where(~marker, ""), counts, repaired


def customer_id_key(shop_folder: Path) -> bytes:
    """The shop's secret key for :func:`hash_customer_ids`, made on first need.

    Read from :func:`ecrm.paths.customer_id_key_path`; when the file does not exist
    a random 256-bit key is written there (readable by its owner only).
    """
    path = paths.customer_id_key_path(shop_folder)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def hash_customer_ids(ids: pd.Series, key: bytes) -> pd.Series:
    """Replace customer ids (emails) by a keyed hash; empty stays empty.

    Parameters
    ----------
    ids : Series
        Customer ids (emails), compared case-insensitively.
    key : bytes
        The shop's key (:func:`customer_id_key`).

    Returns
    -------
    Series
        ``"h"`` + the first 16 hex digits of HMAC-SHA-256(key, lower-cased id),
        ``""`` for ``""``: the same id always gives the same hash under one key.

    Examples
    --------
    >>> hash_customer_ids(pd.Series(["A@x.jp", "a@x.jp", ""]), b"k").tolist()
    ['h31af3cb65a4c82f0', 'h31af3cb65a4c82f0', '']
    """
    lower = ids.astype("string").str.lower()
    codes = {
        v: ""
        if v == ""
        else "h" + hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        for v in lower.dropna().unique()
    }
    return lower.map(codes).astype("string")
