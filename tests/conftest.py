"""Shared fixtures: the shipped catalogue, and the reference explorer on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from properties import shipped as shipped_properties  # noqa: E402
from protocol.scenarios import shipped as shipped_scenarios  # noqa: E402
from protocol.variants import shipped as shipped_variants  # noqa: E402


@pytest.fixture(scope="session")
def variants():  # type: ignore[no-untyped-def]
    return shipped_variants()


@pytest.fixture(scope="session")
def scenarios():  # type: ignore[no-untyped-def]
    return shipped_scenarios()


@pytest.fixture(scope="session")
def properties():  # type: ignore[no-untyped-def]
    return shipped_properties()
