"""Presentation: labels (static data), number formatting, narration and plots.

Stage 4 of the data flow. Takes finished analysis tables and turns them into
what a reader sees; never computes from orders.
"""

from ecrm._lazy import submodules

__getattr__ = submodules(__name__)
