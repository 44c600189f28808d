"""Raw exports → canonical tables: the input contract, ingestion and the demo shops.

Stage 1 of the data flow. :mod:`ecrm.io.ingest` reads a shop's raw exports
(read-only), validates them against SPEC §1 and writes ``data/<shop>/canonical/``
as one set, with the steps in :mod:`~ecrm.io.read` (raw files and encodings),
:mod:`~ecrm.io.presets` (cart-export column presets), :mod:`~ecrm.io.schema`
(the raw-file contract and value parser), :mod:`~ecrm.io.masters` (product
master, customers table), :mod:`~ecrm.io.d2c` (subscriptions and costs tables),
:mod:`~ecrm.io.quality` (the data-quality summary)
and :mod:`~ecrm.io.canonical` (canonical types, line order, atomic write).
:mod:`ecrm.io.init` (with :mod:`~ecrm.io.sniff`, :mod:`~ecrm.io.mapping` and
:mod:`~ecrm.io.dryrun`) proposes a new client's settings from their exports
(``ecrm init``). :mod:`ecrm.io.demo` generates the demo shops' raw exports.
"""

from ecrm._lazy import submodules

__getattr__ = submodules(__name__)
