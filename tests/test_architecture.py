"""The house rules of docs/architecture.md, checked on the source: stages, privacy, size.

Each ``ecrm`` module belongs to one stage. A module may import its own stage
and the stages below it, never one above: presentation never leaks into the
numbers, and the numbers never depend on how they are shown. No module reaches
into another module's private (underscore) names, no file grows past ~800
lines (850 at the most), and no label is registered while running (labels are static data in
:mod:`ecrm.present.labels`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecrm"

#: Stage of each top-level part of the package, lowest first. ``engine`` is
#: below ``io``: it defines the canonical table contract that ingestion writes
#: and every analysis reads (see docs/architecture.md).
STAGES: dict[str, int] = {
    "__init__": 0,
    "__main__": 5,
    "_lazy": 0,
    "errors": 0,
    "paths": 0,
    "settings": 0,
    "engine": 1,
    "io": 2,
    "analysis": 3,
    "models": 3,  # siblings of analysis: tidy tables from fitted models
    "present": 4,
    "render": 5,
}

#: "No file over ~800 lines": about 800, and 850 at the most.
MAX_LINES = 850


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _stage(dotted: str) -> int:
    parts = dotted.split(".")
    if len(parts) == 1:  # ecrm itself
        return 0
    return STAGES[parts[1]]


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) of every ``ecrm`` import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("ecrm")]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module == "ecrm" or (node.module or "").startswith("ecrm."))
        ):
            out.append((node.lineno, node.module or "", [a.name for a in node.names]))
    return out


def test_every_module_has_a_stage():
    unknown = {_dotted(p).split(".")[1] for p in _modules() if "." in _dotted(p)} - set(STAGES)
    assert not unknown, f"give these parts of ecrm a stage in STAGES: {sorted(unknown)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_imports_point_down_the_stages(path):
    """A module imports its own stage and those below it (compute never imports presentation)."""
    me = _dotted(path)
    mine = _stage(me)
    wrong = []
    for line, module, names in _imports(path):
        targets = [f"{module}.{n}" for n in names] if module == "ecrm" else [module]
        for target in targets:
            head = target.split(".")[1] if "." in target else "__init__"
            if head in STAGES and STAGES[head] > mine and me != "ecrm":
                wrong.append(f"line {line}: {target}")
    assert not wrong, f"{me} (stage {mine}) imports from a later stage: {wrong}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_no_private_names_across_modules(path):
    """``from ecrm.x import _name`` and ``x._name`` for another module are both refused."""
    me = _dotted(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    wrong = []
    for line, module, names in _imports(path):
        for n in names:
            if n.startswith("_") and not n.startswith("__") and module != me:
                wrong.append(f"line {line}: from {module} import {n}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ecrm"):
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("ecrm"):
                    aliases[a.asname or a.name.split(".")[0]] = a.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            wrong.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not wrong, f"{me} uses private names of other modules: {wrong}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_no_module_is_too_long(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{_dotted(path)} has {n} lines: split it by concept"


def test_no_label_is_registered_at_run_time():
    """Display text is static data: nothing adds labels while running."""
    offenders = [
        f"{_dotted(p)}:{i}"
        for p in _modules()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "labels.register(" in line or "LABELS.update(" in line or "_LABELS[" in line
    ]
    assert not offenders, offenders
