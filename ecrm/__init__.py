"""ecrm: CRM analysis for e-commerce shops, from order history to monthly reports.

The public API is re-exported here; analysis modules (``ecrm.rfm``,
``ecrm.decile``, ``ecrm.cpm``…) load on first use, so ``import ecrm`` stays fast.
See README.md for the data flow (raw exports → canonical orders → analysis
tables → reports).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

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
from ecrm.ingest import IngestResult, QualitySummary, ingest
from ecrm.settings import ShopSettings, load_settings

try:
    __version__ = version("ecrm")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

_SUBMODULES = frozenset(
    {
        "cluster",
        "cohort",
        "cpm",
        "ctb",
        "customers",
        "decile",
        "demo",
        "engine",
        "exports",
        "ingest",
        "kpi",
        "labels",
        "lifecycle",
        "ltv",
        "narrate",
        "notebook",
        "paths",
        "periods",
        "plotting",
        "report",
        "rfm",
        "segments",
        "settings",
        "batch",
        "predict",
    }
)

__all__ = [
    "ColumnsError",
    "EcrmError",
    "IngestError",
    "IngestResult",
    "InputProblem",
    "MissingDependencyError",
    "ModelFitError",
    "ParameterError",
    "QualitySummary",
    "SettingsError",
    "ShopSettings",
    "__version__",
    "ingest",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"ecrm.{name}")
    raise AttributeError(f"module 'ecrm' has no attribute {name!r}")
