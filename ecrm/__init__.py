"""ecrm: CRM analysis for e-commerce shops, from order history to monthly reports.

The public API is re-exported here; see README.md for the data flow
(raw exports → canonical orders → analysis tables → reports).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ecrm.errors import (
    ColumnsError,
    EcrmError,
    IngestError,
    InputProblem,
    ParameterError,
    SettingsError,
)
from ecrm.ingest import IngestResult, QualitySummary, ingest
from ecrm.settings import ShopSettings, load_settings

try:
    __version__ = version("ecrm")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ColumnsError",
    "EcrmError",
    "IngestError",
    "IngestResult",
    "InputProblem",
    "ParameterError",
    "QualitySummary",
    "SettingsError",
    "ShopSettings",
    "__version__",
    "ingest",
    "load_settings",
]
