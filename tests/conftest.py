"""Shared fixtures: the shipped catalogue."""

from __future__ import annotations

import pytest

from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants


@pytest.fixture(scope="session")
def variants():  # type: ignore[no-untyped-def]
    return shipped_variants()


@pytest.fixture(scope="session")
def scenarios():  # type: ignore[no-untyped-def]
    return shipped_scenarios()


@pytest.fixture(scope="session")
def properties():  # type: ignore[no-untyped-def]
    return shipped_properties()
