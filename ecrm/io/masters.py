"""The optional side tables of a shop: the product master and the customers table.

Both are read with :func:`~ecrm.io.read.read_raw`; their problems are added to
the list that :func:`~ecrm.io.ingest.ingest` raises as one
:class:`~ecrm.errors.IngestError`. Personal columns of the customers table stay
out of the canonical data (SPEC §1).
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa_arrow

from ecrm.errors import IngestError, InputProblem, SettingsError
from ecrm.io.read import read_raw
from ecrm.io.schema import strip_text
from ecrm.settings import PERSONAL_COLUMNS, ShopSettings

__all__ = ["hash_customer_ids", "read_customers", "read_product_master"]


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
                label, None, None, f"missing column(s) {missing}; the file has {list(raw.columns)}"
            )
        )
        return None
    master = pd.DataFrame({"product_id": strip_text(raw[pm.key].astype("string"))})
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

    With ``hash_ids`` (a preset keyed by email) customer ids are hashed as in the
    orders table, so that the two tables join.
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
    if settings.strip_float_suffix:
        df["customer_id"] = df["customer_id"].str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    if hash_ids:
        df["customer_id"] = hash_customer_ids(df["customer_id"])
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


def hash_customer_ids(ids: pd.Series) -> pd.Series:
    """Replace customer ids (emails) by a short salt-free hash; empty stays empty."""
    return (
        ids.str.lower()
        .map(lambda v: "" if v == "" else "h" + hashlib.sha256(v.encode("utf-8")).hexdigest()[:16])
        .astype("string")
    )
