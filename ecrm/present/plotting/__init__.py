"""Plots: each ``plot_*`` takes a finished table, draws on ``ax`` (or a new one), returns it.

No plot calls ``show()`` or ``savefig()``; Japanese text renders with the IPAex
Gothic font that the ``matplotlib-fontja`` dependency ships (set up by
:func:`ecrm.present.plotting.base.use_japanese_font`, called by every plot).
"""

from __future__ import annotations

from ecrm._lazy import submodules
from ecrm.present.plotting.base import new_ax, use_japanese_font

__all__ = ["new_ax", "use_japanese_font"]

__getattr__ = submodules(__name__)
