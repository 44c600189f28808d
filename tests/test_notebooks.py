"""The report notebooks stay thin, parameterised and committed without outputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EXPECTED_PARAMS = {"shop", "month", "lang", "output_dir", "request_file"}


def test_there_is_a_notebook_per_analysis():
    names = {p.stem.split("_", 1)[1] for p in NOTEBOOKS}
    assert names == {
        "overview",
        "rfm",
        "decile",
        "cpm",
        "lifecycle",
        "cohort",
        "ltv",
        "cluster",
        "ctb",
        "d2c",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: a cell has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: execution count set"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_holds_typed_literal_defaults_with_help(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    src = "".join(tagged[0]["source"])
    names = set()
    for line in src.splitlines():
        node = ast.parse(line).body[0]
        assert isinstance(node, ast.AnnAssign), f"not `name: type = value`: {line}"
        assert isinstance(node.value, ast.Constant), f"not a literal: {line}"
        assert "  # " in line, f"no help comment: {line}"
        names.add(node.target.id)
    assert names == EXPECTED_PARAMS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_stay_thin(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        tree = ast.parse(src)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda), (
                f"{path.name}: define functions in ecrm/, not in notebooks"
            )
        code = [
            ln for ln in src.splitlines() if ln.strip() and not ln.startswith(("import ", "from "))
        ]
        assert len(code) <= 5, f"{path.name}: a cell with more than 5 lines of code"
