"""One exception family for ecrm.

Every error a user can cause derives from :class:`EcrmError`, so a scheduled job
can catch one class; the subclasses say which stage failed, and each message says
what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ColumnsError",
    "DataError",
    "EcrmError",
    "IngestError",
    "InputProblem",
    "MissingDependencyError",
    "ModelFitError",
    "ParameterError",
    "SettingsError",
]


class EcrmError(Exception):
    """Base class of every error ecrm raises on purpose."""


class SettingsError(EcrmError):
    """A shop settings file is missing, unreadable or invalid."""


class ParameterError(EcrmError, ValueError):
    """A function or command argument is invalid (a bad month, shop name, as_of...)."""


class DataError(EcrmError, ValueError):
    """An orders table handed to an analysis breaks the canonical contract (SPEC §1)."""


class MissingDependencyError(EcrmError, ImportError):
    """An optional dependency is not installed (e.g. pymc-marketing, the ``predict`` extra).

    The message names the package and the command that installs it.
    """


class ModelFitError(EcrmError):
    """The data cannot support a model (too few repeat customers, a degenerate fit...)."""


class ColumnsError(EcrmError, KeyError):
    """An analysis was given a table without the columns it needs."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class InputProblem:
    """One problem found in a raw export.

    Attributes
    ----------
    file : str
        The raw file (as named in the settings).
    row : int or None
        1-based line number in the file as a spreadsheet shows it (the header is
        row 1, the first data line row 2); ``None`` when the problem concerns the
        whole file or column.
    column : str or None
        The raw column name (as in the file), or ``None``.
    message : str
        What is wrong, in words a user can act on.
    value : str or None
        The offending value, shortened.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (value {self.value!r})"
        return text


class IngestError(EcrmError):
    """Raw exports failed validation; ``problems`` lists every problem found.

    The message lists the first problems (up to ``shown``) with file, row and column,
    and says how many more there are.
    """

    shown = 50

    def __init__(self, problems: list[InputProblem], *, shop: str | None = None) -> None:
        self.problems = list(problems)
        self.shop = shop
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{len(self.problems)} problem(s) in the raw exports"
        if self.shop:
            head += f" of shop {self.shop!r}"
        lines = [head + "; nothing was written:"]
        lines += [f"  - {p}" for p in self.problems[: self.shown]]
        if len(self.problems) > self.shown:
            lines.append(f"  ... and {len(self.problems) - self.shown} more")
        return "\n".join(lines)
