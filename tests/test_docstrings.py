"""The examples in the public docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "ecrm.analysis.customers",
    "ecrm.analysis.rfm",
    "ecrm.analysis.decile",
    "ecrm.analysis.cpm",
    "ecrm.analysis.lifecycle",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
