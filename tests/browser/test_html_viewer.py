"""The HTML viewer in a real browser: the 4.20 stack race, written by ``vmacheck check --html``
as a user would, opened from a file in headless Chromium and stepped through with the
keyboard and the mouse; what is on screen is asserted, and screenshots are saved to
``test-artifacts/``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from vmacheck.checker.cli import main

pytestmark = pytest.mark.browser

NAME = "downgrade-4.20--stack-below-growsdown--no_pt_use_after_free"


@pytest.fixture(scope="module")
def race_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("race")
    code = main(
        ["check", "downgrade-4.20", "-s", "stack-below-growsdown", "--html", str(out), "-q", "--no-traces"]
    )
    assert code == 1
    return out / f"{NAME}.html", out / f"{NAME}.json"


@pytest.fixture(scope="module")
def chrome(chrome_factory: Any) -> Any:
    return chrome_factory()


def _open(driver: Any, page: Path, fragment: str = "") -> None:
    driver.get(page.as_uri() + fragment)


def _keys(driver: Any, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver)
    for key in keys:
        chain.send_keys(key)
    chain.perform()


def _position(driver: Any) -> str:
    return str(driver.find_element("id", "position").text)


def _visible_frames(driver: Any) -> list[str]:
    return [
        f.get_attribute("id")
        for f in driver.find_elements("css selector", "section.frame")
        if f.is_displayed()
    ]


def _cells(driver: Any, step: int, row: str) -> list[Any]:
    return list(driver.find_elements("css selector", f"#step-{step} tr[data-row='{row}'] td"))


def test_stepping_through_the_race_with_the_arrow_keys(
    chrome: Any, race_files: tuple[Path, Path], artifacts: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    page, _ = race_files
    _open(chrome, page)
    assert chrome.title == "no_pt_use_after_free violated: downgrade-4.20 / stack-below-growsdown"
    assert (
        chrome.find_element("id", "why").text
        == "T0 freed page table 1 (pages 2-3) with linked S[3,8) over it"
    )
    assert _position(chrome) == "Step 0 of 12 (initial state)"
    assert _visible_frames(chrome) == ["step-0"]
    assert not chrome.find_element("id", "prev").is_enabled()
    chrome.save_screenshot(str(artifacts / "html-viewer-step-0.png"))

    _keys(chrome, *[Keys.ARROW_RIGHT] * 11)
    assert _position(chrome) == "Step 11 of 12"
    assert _visible_frames(chrome) == ["step-11"]
    title = chrome.find_element("css selector", "#step-11 h2").text
    assert "T1" in title and "access(addr=3)" in title and "expand_stack" in title
    assert chrome.find_element("id", "sem-11").text == "R by {T0,T1}"
    vma = _cells(chrome, 11, "vma")
    assert "".join(c.text for c in vma) == "...SSSSS"
    changed = [i for i, c in enumerate(vma) if "chg" in c.get_attribute("class").split()]
    assert changed == [3, 4]
    assert all(vma[i].is_displayed() for i in changed)
    held = _cells(chrome, 11, "held:0")
    assert "".join(c.text for c in held) == "..aa...."
    selected = chrome.find_elements("css selector", ".timeline tr.selected")
    assert [r.get_attribute("data-step") for r in selected] == ["11"]
    assert chrome.execute_script("return location.hash") == "#step-11"
    chrome.save_screenshot(str(artifacts / "html-viewer-step-11.png"))

    _keys(chrome, Keys.ARROW_LEFT)
    assert _position(chrome) == "Step 10 of 12"
    _keys(chrome, Keys.END)
    assert _position(chrome) == "Step 12 of 12" and _visible_frames(chrome) == ["step-12"]
    assert not chrome.find_element("id", "next").is_enabled()
    ptab = _cells(chrome, 12, "ptab")
    assert [c.text for c in ptab] == [".", "-", "+", "+"]
    red = chrome.execute_script("return getComputedStyle(arguments[0]).backgroundColor", ptab[1])
    assert red == "rgb(198, 40, 40)"  # the failing part: the freed page table under the stack
    final = chrome.find_element("css selector", "#step-12 .final").text
    assert final.endswith("T0 freed page table 1 (pages 2-3) with linked S[3,8) over it")
    chrome.save_screenshot(str(artifacts / "html-viewer-step-12.png"))
    _keys(chrome, Keys.ARROW_RIGHT)  # past the end: stays
    assert _position(chrome) == "Step 12 of 12"
    _keys(chrome, Keys.HOME)
    assert _position(chrome) == "Step 0 of 12 (initial state)"


def test_clicking_the_timeline_and_the_buttons(chrome: Any, race_files: tuple[Path, Path]) -> None:
    page, _ = race_files
    _open(chrome, page)
    chrome.find_element("css selector", ".timeline tr[data-step='5'] td.ran").click()
    assert _position(chrome) == "Step 5 of 12" and _visible_frames(chrome) == ["step-5"]
    assert "detach_vmas_to_be_unmapped" in chrome.find_element("css selector", "#step-5 h2").text
    chrome.find_element("id", "next").click()
    assert _position(chrome) == "Step 6 of 12"
    assert chrome.find_element("id", "sem-6").text == "R by {T0}"
    chrome.find_element("id", "prev").click()
    chrome.find_element("id", "prev").click()
    assert _position(chrome) == "Step 4 of 12"


def test_a_link_to_a_step_opens_it(chrome: Any, race_files: tuple[Path, Path]) -> None:
    page, _ = race_files
    _open(chrome, page, "#step-7")
    assert _position(chrome) == "Step 7 of 12" and _visible_frames(chrome) == ["step-7"]


def test_offline_no_requests_and_no_script_errors(chrome: Any, race_files: tuple[Path, Path]) -> None:
    page, trace = race_files
    _open(chrome, page)
    resources = chrome.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources == []
    errors = [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    embedded = chrome.execute_script(
        "return JSON.parse(document.getElementById('vmacheck-trace').textContent)"
    )
    assert embedded == json.loads(trace.read_text())


def test_printing_shows_every_step(chrome: Any, race_files: tuple[Path, Path], artifacts: Path) -> None:
    page, _ = race_files
    _open(chrome, page)
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert _visible_frames(chrome) == [f"step-{i}" for i in range(13)]
        assert not chrome.find_element("id", "controls").is_displayed()
    finally:
        chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(chrome.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF")
    (artifacts / "html-viewer-printed.pdf").write_bytes(pdf)


def test_without_javascript_every_step_is_shown(
    chrome_factory: Any, race_files: tuple[Path, Path], artifacts: Path
) -> None:
    """As a mail reader that runs no scripts shows it."""
    page, _ = race_files
    plain = chrome_factory(javascript=False)
    _open(plain, page)
    assert _visible_frames(plain) == [f"step-{i}" for i in range(13)]
    assert not plain.find_element("id", "next").is_displayed()
    plain.find_element("css selector", ".timeline tr[data-step='9'] td.step a").click()
    assert plain.execute_script("return location.hash") == "#step-9"
    plain.save_screenshot(str(artifacts / "html-viewer-no-javascript.png"))


def test_a_two_thread_trace_needs_no_sideways_scrolling_at_1280_px(
    chrome: Any, race_files: tuple[Path, Path]
) -> None:
    page, _ = race_files
    chrome.set_window_size(1280, 1000)
    try:
        _open(chrome, page, "#step-11")
        assert chrome.execute_script("return innerWidth") == 1280
        widths = chrome.execute_script(
            "const p = document.getElementById('timeline-panel');"
            "const b = document.querySelector('section.frame.current .space-bands');"
            "return [document.scrollingElement.scrollWidth, innerWidth, p.scrollWidth, p.clientWidth,"
            " b.scrollWidth, b.clientWidth]"
        )
        page_w, inner, panel_w, panel_client, grid_w, grid_client = widths
        assert page_w <= inner and panel_w <= panel_client + 1 and grid_w <= grid_client + 1
        # two threads keep a full lane each, the step named in its thread's column
        assert "narrow" not in chrome.find_element("id", "timeline").get_attribute("class").split()
        assert [c.text for c in chrome.find_elements("css selector", "#timeline td.ran")][8] == "down_read"
        # the timeline and the picture sit side by side
        panel = chrome.find_element("id", "timeline-panel").rect
        frames = chrome.find_element("id", "frames").rect
        assert panel["x"] + panel["width"] <= frames["x"] and abs(panel["y"] - frames["y"]) < 2
    finally:
        chrome.set_window_size(1400, 1000)
