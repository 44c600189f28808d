"""The dry run of ``ecrm init``: ingest a proposal without writing anything of the shop.

:func:`dry_run` writes the proposal's settings (:func:`ecrm.io.init.render_settings`
with absolute source paths and ``allow_external_sources``) into a temporary shop
folder, ingests there with :func:`ecrm.io.ingest.ingest` (whose API is used as
it is) and removes the folder: the raw files are only read, the shop folder is
not touched. The result is the data-quality summary, or the problems of the
:class:`~ecrm.errors.IngestError` grouped by column and message, most frequent
first, each with its count and first file and row, never a value (a value is raw
content).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ecrm.errors import IngestError, InputProblem, SettingsError
from ecrm.io.init import Proposal, render_settings

__all__ = ["DryRun", "dry_run", "group_problems"]


@dataclass
class DryRun:
    """The result of :func:`dry_run`: the summary, or the problems grouped."""

    summary: object | None
    problems: list[tuple[int, str | None, str, str]]
    total_problems: int
    error: str | None = None

    def render(self, top: int = 10) -> str:
        """The summary, or the ``top`` most frequent problems, as text for the terminal."""
        if self.error:
            return f"dry run: {self.error}"
        if self.summary is not None:
            return "dry run (nothing written):\n" + self.summary.render()  # type: ignore[attr-defined]
        lines = [
            f"dry run: {self.total_problems:,} problem(s) would stop `ecrm ingest`; "
            f"the {min(top, len(self.problems))} most frequent:"
        ]
        for n, column, message, first in self.problems[:top]:
            where = f"column {column!r}: " if column else ""
            lines.append(f"  {n:>8,} × {where}{message} (first: {first})")
        return "\n".join(lines)


def group_problems(problems: Sequence[InputProblem]) -> list[tuple[int, str | None, str, str]]:
    """(count, column, message, first file and row) per problem kind, most frequent first.

    Values are left out: a problem's value is raw content.
    """
    groups: dict[tuple[str | None, str], list[InputProblem]] = {}
    for pr in problems:
        groups.setdefault((pr.column, pr.message), []).append(pr)
    out = []
    for (column, message), items in groups.items():
        first = items[0]
        where = first.file + (f", row {first.row}" if first.row is not None else "")
        out.append((len(items), column, message, where))
    out.sort(key=lambda t: (-t[0], t[1] or "", t[2]))
    return out


def dry_run(proposal: Proposal, *, today: date | None = None) -> DryRun:
    """Ingest the proposal into a temporary shop folder and report what the export holds.

    The temporary settings point at the same raw files by absolute path (with
    ``allow_external_sources``); the temporary folder is removed afterwards, so
    nothing of the shop is written or changed.

    Returns
    -------
    DryRun
        The quality summary, or the problems grouped by column and message.
    """
    from ecrm.io.ingest import ingest

    tmp = Path(tempfile.mkdtemp(prefix="ecrm-init-"))
    try:
        shop = tmp / proposal.shop
        shop.mkdir()
        (shop / "settings.yaml").write_text(
            render_settings(proposal, absolute=True), encoding="utf-8"
        )
        try:
            result = ingest(shop, today=today)
        except IngestError as e:
            return DryRun(None, group_problems(e.problems), len(e.problems))
        except SettingsError as e:
            return DryRun(None, [], 0, error=str(e).replace(str(tmp), "<dry run>"))
        return DryRun(result.summary, [], 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
