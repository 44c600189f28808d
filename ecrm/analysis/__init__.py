"""Analysis tables: one module per question, pure functions of canonical orders.

Stage 3 of the data flow. Each public function takes canonical orders and an
explicit ``as_of`` (plus typed, keyword-only options) and returns a tidy pandas
DataFrame of stable codes; none imports presentation (labels, formatting,
plots). Order-level work runs set-based through :mod:`ecrm.engine`.
"""

from ecrm._lazy import submodules

__getattr__ = submodules(__name__)
