"""ecrm: CRM analysis for e-commerce shops, from order history to monthly reports.

The package is laid out by stage of the data flow — ``io`` (raw exports →
canonical tables), ``engine`` (the orders contract and the one cache),
``analysis`` and ``models`` (tidy tables), ``present`` (labels, formatting,
narration, plots) and ``render`` (notebook context, reports, batch, CLI); see
``docs/architecture.md``. The public modules are reachable from here by their
short names (``from ecrm import rfm, decile, cpm``, ``ecrm.ctb``); each loads on
first use, so ``import ecrm`` stays fast.
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
from ecrm.io.ingest import IngestResult, QualitySummary, ingest
from ecrm.settings import ShopSettings, load_settings

try:
    __version__ = version("ecrm")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: Where each module of the public API lives, by stage of the data flow
#: (io → engine → analysis/models → present → render). ``from ecrm import rfm``
#: and ``ecrm.rfm`` keep working for every name here; the module loads on first use.
_SUBMODULES: dict[str, str] = {
    # io: raw exports → canonical tables (``ecrm.ingest`` is the function, imported above)
    "demo": "ecrm.io.demo",
    # engine: the orders contract, the one cache, the per-run shared tables
    "engine": "ecrm.engine",
    # analysis: one module per question
    "customers": "ecrm.analysis.customers",
    "periods": "ecrm.analysis.periods",
    "segments": "ecrm.analysis.segments",
    "rfm": "ecrm.analysis.rfm",
    "decile": "ecrm.analysis.decile",
    "cpm": "ecrm.analysis.cpm",
    "lifecycle": "ecrm.analysis.lifecycle",
    "cohort": "ecrm.analysis.cohort",
    "ltv": "ecrm.analysis.ltv",
    "kpi": "ecrm.analysis.kpi",
    "cluster": "ecrm.analysis.cluster",
    "ctb": "ecrm.analysis.ctb",
    # models: fitted models and their checks
    "predict": "ecrm.models.predict",
    "btyd": "ecrm.models.btyd",
    "recommend": "ecrm.models.recommend",
    "evaluate": "ecrm.models.evaluate",
    # present: labels, formatting, narration, plots
    "labels": "ecrm.present.labels",
    "narrate": "ecrm.present.narrate",
    "plotting": "ecrm.present.plotting",
    # render: the notebook context, reports, batch, CLI
    "notebook": "ecrm.render.context",
    "report": "ecrm.render.report",
    "kernel": "ecrm.render.kernel",
    "batch": "ecrm.render.batch",
    "exports": "ecrm.render.exports",
    # the stages themselves
    "io": "ecrm.io",
    "analysis": "ecrm.analysis",
    "models": "ecrm.models",
    "present": "ecrm.present",
    "render": "ecrm.render",
    "paths": "ecrm.paths",
    "settings": "ecrm.settings",
}

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
        return importlib.import_module(_SUBMODULES[name])
    raise AttributeError(f"module 'ecrm' has no attribute {name!r}")
