"""Rendered reports: the notebook context, papermill runs, page assembly (Jinja2), PDF, batch, CLI.

Stage 5 of the data flow: the edge where user input (shop, month, language,
settings) is parsed, and where notebooks are executed into
``reports/<shop>/<YYYY-MM>/``.
"""

from ecrm._lazy import submodules

__getattr__ = submodules(__name__)
