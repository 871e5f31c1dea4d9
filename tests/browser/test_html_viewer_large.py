"""The HTML viewer of big traces in a real browser: every scenario of
protocol/scenarios/large.py (and a 64-page one), 6-8 threads and 40-100 steps, in windows
1280 and 1920 px wide, in the normal and the ``--compact`` layout.

What is asserted is the layout, measured in Chromium: no thread lane overlaps another or the
picture beside it, the lanes need no sideways scrolling, and every cell of the page grid is
in the document and, scrolled into view, is on screen and the topmost element there (not
cut off by an ancestor that clips, not covered by the timeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.viewer_traces import BIG, long_trace
from vmacheck.checker.report.viewer import build_view, render_html

pytestmark = pytest.mark.browser

WIDTHS = (1280, 1920)
LAYOUTS = ("normal", "compact")

# Per row of the timeline (its head too): the lane cells' boxes, which must not overlap and
# must keep to their columns; the text of a lane cell must fit its box; and what is on screen
# of a lane (inside the ancestors that clip it) must not lie over the picture beside it.
LANES_JS = """
const timeline = document.getElementById('timeline');
const out = {problems: [], lanes: 0, narrow: timeline.classList.contains('narrow')};
const frames = document.getElementById('frames').getBoundingClientRect();
// what of a box is on screen: the part inside every ancestor that clips
function visible(el) {
  let [l, t, r, b] = (({left, top, right, bottom}) => [left, top, right, bottom])(el.getBoundingClientRect());
  for (let a = el.parentElement; a; a = a.parentElement) {
    const style = getComputedStyle(a);
    if (style.overflowX === 'visible' && style.overflowY === 'visible') { continue; }
    const c = a.getBoundingClientRect();
    [l, t, r, b] = [Math.max(l, c.left), Math.max(t, c.top), Math.min(r, c.right), Math.min(b, c.bottom)];
  }
  return [l, t, r, b];
}
const columns = {};
for (const row of timeline.rows) {
  const cells = Array.from(row.querySelectorAll('[data-lane]'));
  out.lanes = Math.max(out.lanes, cells.length);
  let right = -Infinity;
  for (const cell of cells) {
    const box = cell.getBoundingClientRect();
    const lane = cell.getAttribute('data-lane');
    const where = `row ${row.rowIndex}, lane ${lane}`;
    if (box.left < right - 0.5) { out.problems.push(`${where} overlaps the lane before`); }
    right = box.right;
    const col = columns[lane] || (columns[lane] = [box.left, box.right]);
    if (Math.abs(col[0] - box.left) > 0.5 || Math.abs(col[1] - box.right) > 0.5) {
      out.problems.push(`${where} leaves its column`);
    }
    if (cell.scrollWidth > cell.clientWidth + 1) { out.problems.push(`${where}: its text spills out`); }
    const [l, t, r, b] = visible(cell);
    if (r > l && b > t && r > frames.left + 0.5 && l < frames.right - 0.5 &&
        b > frames.top + 0.5 && t < frames.bottom - 0.5) {
      out.problems.push(`${where} is drawn over the picture`);
    }
  }
}
const panel = document.getElementById('timeline-panel');
out.scroll = [panel.scrollWidth, panel.clientWidth];
return out;
"""

# Every element of ``selector``: scrolled into view, it must lie inside the window and inside
# every ancestor that clips, and be what the browser finds at its centre.
VISIBLE_JS = """
const [selector] = arguments;
const problems = [];
const elements = Array.from(document.querySelectorAll(selector));
for (const el of elements) {
  el.scrollIntoView({block: 'center', inline: 'center'});
  const r = el.getBoundingClientRect();
  const name = `${selector} #${elements.indexOf(el)} (${el.textContent.slice(0, 20)})`;
  if (r.width < 1 || r.height < 1) { problems.push(`${name}: not drawn`); continue; }
  if (r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) {
    problems.push(`${name}: outside the window`); continue;
  }
  for (let a = el.parentElement; a; a = a.parentElement) {
    const style = getComputedStyle(a);
    if (style.overflowX === 'visible' && style.overflowY === 'visible') { continue; }
    const c = a.getBoundingClientRect();
    if (r.left < c.left - 0.5 || r.right > c.right + 0.5 || r.top < c.top - 0.5 ||
        r.bottom > c.bottom + 0.5) {
      problems.push(`${name}: cut off by ${a.tagName}#${a.id}.${a.className}`);
    }
  }
  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  if (!hit || (hit !== el && !el.contains(hit))) {
    problems.push(`${name}: covered by ${hit && hit.tagName}.${hit && hit.className}`);
  }
}
return {count: elements.length, problems: problems.slice(0, 10)};
"""

# The page grid of the selected step: which pages its bands number, and how many pages each
# row's cells cover (a page-table cell spans several).
GRID_JS = """
const frame = document.querySelector('section.frame.current');
const pages = Array.from(frame.querySelectorAll('table.space thead th[data-page]'))
  .map(th => Number(th.getAttribute('data-page')));
const covered = {};
for (const tr of frame.querySelectorAll('table.space tbody tr')) {
  const key = tr.getAttribute('data-row');
  covered[key] = (covered[key] || 0) + Array.from(tr.cells).slice(1).reduce((n, td) => n + td.colSpan, 0);
}
const bands = frame.querySelector('.space-bands');
return {pages, covered, scroll: [bands.scrollWidth, bands.clientWidth]};
"""


@pytest.fixture(scope="module")
def big_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Path, int, int]]:
    """Each big scenario's page in each layout: (file, pages, steps); each trace built once."""
    out = tmp_path_factory.mktemp("big")
    made = {}
    for scenario in BIG:
        view = build_view(long_trace(scenario))
        for layout in LAYOUTS:
            path = out / f"{scenario.name}-{layout}.html"
            path.write_text(render_html(view, compact=layout == "compact"), encoding="utf-8")
            made[scenario.name, layout] = (path, view.pages, view.nsteps)
    return made


@pytest.fixture(scope="module")
def chrome(chrome_factory: Any) -> Any:
    return chrome_factory()


def _open(driver: Any, page: Path, width: int, step: int) -> None:
    driver.set_window_size(width, 1000)
    driver.get(page.as_uri() + f"#step-{step}")
    assert driver.execute_script("return innerWidth") == width


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [sc.name for sc in BIG])
def test_big_trace_lanes_never_overlap_and_every_page_shows(
    chrome: Any,
    big_pages: dict[tuple[str, str], tuple[Path, int, int]],
    artifacts: Path,
    name: str,
    width: int,
    layout: str,
) -> None:
    page, pages, steps = big_pages[name, layout]
    last = steps  # the step where the property fails: every row of the grid is drawn there
    _open(chrome, page, width, last)
    current = chrome.execute_script("return document.querySelector('section.frame.current').id")
    assert current == f"step-{last}"

    lanes = chrome.execute_script(LANES_JS)
    assert lanes["lanes"] >= 6 and lanes["problems"] == []
    assert lanes["narrow"]  # six or more threads: a slim column each
    scroll_width, client_width = lanes["scroll"]
    assert scroll_width <= client_width + 1  # the lanes need no sideways scrolling
    lane_heads = chrome.execute_script(VISIBLE_JS, "#timeline thead [data-lane]")
    assert lane_heads["count"] == lanes["lanes"] and lane_heads["problems"] == []

    # nothing sticks out at the side: the page needs no sideways scrolling
    assert chrome.execute_script("return document.scrollingElement.scrollWidth") <= width
    grid = chrome.execute_script(GRID_JS)
    assert grid["pages"] == list(range(pages))  # every page numbered once, in order
    assert set(grid["covered"].values()) == {pages}  # every row covers every page
    assert grid["scroll"][0] <= grid["scroll"][1] + 1  # bands wrap: no page cut off at the side
    cells = chrome.execute_script(VISIBLE_JS, "section.frame.current table.space td")
    assert cells["count"] >= len(grid["covered"]) * pages // 4 and cells["problems"] == []

    if layout == "compact":
        strips = chrome.execute_script(VISIBLE_JS, "#timeline tbody tr:last-child .strip")
        assert strips["count"] == 3 and strips["problems"] == []
        lengths = chrome.execute_script(
            "return Array.from(document.querySelectorAll('#timeline tbody .strip'))"
            ".map(s => s.textContent.length)"
        )
        assert lengths == [pages] * (3 * (steps + 1))  # a character per page, every step
    chrome.save_screenshot(str(artifacts / f"html-viewer-{name}-{layout}-{width}.png"))
