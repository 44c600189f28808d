"""Raw exports → canonical tables: the input contract, ingestion and the demo shops.

Stage 1 of the data flow. :mod:`ecrm.io.ingest` reads a shop's raw exports
(read-only), validates them against SPEC §1 and writes ``data/<shop>/canonical/``
as one set; :mod:`ecrm.io.demo` generates the demo shops' raw exports.
"""

from ecrm._lazy import submodules

__getattr__ = submodules(__name__)
