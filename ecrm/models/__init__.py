"""Fitted models and their checks: customer-value prediction (BTYD) and recommendations.

Stage 3b of the data flow: like :mod:`ecrm.analysis`, pure functions of canonical
orders and an explicit ``as_of``; what sets them apart is that they learn
parameters (``fit``) and are checked against a hold-out period.
"""

from ecrm._lazy import submodules

__getattr__ = submodules(__name__)
