"""The vmacheck pytest plugin (entry point ``pytest11``: loaded wherever vmacheck is installed).

It adds command-line options that set the defaults of :mod:`vmacheck.checker.testing` for a test run,
a ``vmacheck`` fixture (a :class:`vmacheck.checker.testing.Checker` with those defaults), and a line in
pytest's header. It imports nothing heavy until a test uses it, so it costs nothing in test
suites that do not.

Options::

    --vmacheck-engine NAME     engine for assert_holds/assert_violates (explicit, random)
    --vmacheck-seed N          random engine: seed
    --vmacheck-examples N      random engine: schedules per scenario
    --vmacheck-trace-dir DIR   write the trace of every failed verdict assertion here
                               (open it with `vmacheck show`)
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vmacheck", "vmacheck model checking")
    group.addoption(
        "--vmacheck-engine", metavar="NAME", help="engine for vmacheck assertions (default explicit)"
    )
    group.addoption("--vmacheck-seed", type=int, metavar="N", help="seed of the random engine")
    group.addoption(
        "--vmacheck-examples", type=int, metavar="N", help="schedules per scenario (random engine)"
    )
    group.addoption(
        "--vmacheck-trace-dir", metavar="DIR", help="write traces of failed vmacheck assertions here"
    )


def _options(config: pytest.Config) -> dict[str, Any]:
    return {
        "engine": config.getoption("vmacheck_engine"),
        "seed": config.getoption("vmacheck_seed"),
        "examples": config.getoption("vmacheck_examples"),
        "trace_dir": config.getoption("vmacheck_trace_dir"),
    }


def pytest_configure(config: pytest.Config) -> None:
    options = {k: v for k, v in _options(config).items() if v is not None}
    if options:
        from vmacheck.checker import testing

        testing.DEFAULT = testing.DEFAULT.with_options(**options)


def pytest_report_header(config: pytest.Config) -> str | None:
    options = {k: v for k, v in _options(config).items() if v is not None}
    if not options:
        return None
    return "vmacheck: " + ", ".join(f"{k}={v}" for k, v in options.items())


@pytest.fixture
def vmacheck(pytestconfig: pytest.Config) -> Any:
    """A :class:`vmacheck.checker.testing.Checker` with this run's options: ``vmacheck.assert_holds(
    variant, scenario)``, ``vmacheck.assert_violates(variant, scenario, property)``,
    ``vmacheck.check(...)``."""
    from vmacheck.checker import testing

    return testing.DEFAULT
