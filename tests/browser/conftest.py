"""Headless Chromium for the HTML viewer tests (Debian packages ``chromium`` and
``chromium-driver``, driven by Selenium).

Without Chromium the browser tests are skipped, saying why; with ``VMACHECK_REQUIRE_BROWSER=1``
(set by ``.ci/run``, which installs the packages) they fail instead, so CI cannot pass by
skipping them. A Chromium that is installed but does not start is a failure, not a skip.
Screenshots and the printed PDF go to ``test-artifacts/`` at the top of the checkout.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
REQUIRED = os.environ.get("VMACHECK_REQUIRE_BROWSER") == "1"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}; VMACHECK_REQUIRE_BROWSER=1 requires the browser tests to run")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chrome_factory() -> Iterator[Callable[..., Any]]:
    """Starts a fresh headless Chromium (own profile directory) per call."""
    chromium = _which("chromium", "chromium-browser")
    driver_path = _which("chromedriver")
    if chromium is None or driver_path is None:
        _unavailable("headless Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    started: list[tuple[Any, str]] = []

    def start(javascript: bool = True) -> Any:
        profile = tempfile.mkdtemp(prefix="vmacheck-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(chromium)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        if not javascript:
            options.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2}
            )
        driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
        started.append((driver, profile))
        return driver

    yield start
    for driver, profile in started:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
