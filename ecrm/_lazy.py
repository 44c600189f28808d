"""Lazy attribute access to a package's modules (``ecrm.analysis.rfm`` after ``import ecrm``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType


def submodules(package: str) -> Callable[[str], ModuleType]:
    """A module ``__getattr__`` for ``package`` that imports ``package.<name>`` on first use.

    Stage packages (``ecrm.analysis``, ``ecrm.render``…) use it so that a
    notebook or an analyst can write ``ecrm.analysis.periods.shift_months``
    after a plain ``import ecrm``, without importing every module up front.
    """

    def __getattr__(name: str) -> ModuleType:
        if name.startswith("_"):
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{package}.{name}":
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
            raise

    return __getattr__
