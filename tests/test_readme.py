"""The README's Python examples run as written, on a generated demo shop.

The blocks under "Using it from Python" are executed in order in one namespace,
from a project folder holding ``data/demo-apparel`` (as after ``make demo``),
so a renamed module or function breaks this test before it breaks a reader.
Blocks that need a Spark cluster or a warehouse are left out.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import REPO

BLOCK = re.compile(r"```python\n(.*?)```", re.S)
NEEDS_A_CLUSTER = ("SparkSession", "bigquery", "snowflake")


def _examples() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [b for b in BLOCK.findall(text) if not any(k in b for k in NEEDS_A_CLUSTER)]


def test_readme_has_the_examples():
    blocks = _examples()
    assert len(blocks) >= 3
    assert "from ecrm import rfm, decile, cpm, lifecycle, kpi" in blocks[0]


@pytest.mark.slow
def test_readme_examples_run(demo_root, tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    shutil.copytree(demo_root / "data" / "demo-apparel", root / "data" / "demo-apparel")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    monkeypatch.chdir(root)
    monkeypatch.setenv("ECRM_HOME", str(root))
    namespace: dict[str, object] = {}
    for i, block in enumerate(_examples()):
        try:
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message says which block
            pytest.fail(f"README python block {i + 1} failed: {type(e).__name__}: {e}")
    assert len(namespace["scores"]) > 0  # type: ignore[arg-type]
    assert not namespace["check"].summary.empty  # type: ignore[union-attr]
