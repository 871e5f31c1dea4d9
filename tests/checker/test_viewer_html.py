"""The HTML viewer page, read without a browser: one self-contained, well-formed document
with every step rendered, the trace embedded as JSON, and nothing fetched from anywhere.
(tests/browser opens it in Chromium and steps through it.)"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.viewer_traces import WIDE, long_trace
from vmacheck.checker.cli import main
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.report.trace import trace_json
from vmacheck.checker.report.viewer import build_view, render_html
from vmacheck.checker.report.viewer.frames import merged_space
from vmacheck.checker.report.viewer.html import BAND_PAGES
from vmacheck.checker.report.viewer.verify import Verification
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "source", "area", "base"}


class Page(HTMLParser):
    """Collects elements (tag, attributes, text) and checks that tags nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.errors: list[str] = []
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.scripts: dict[str, str] = {}
        self._script_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        el = (tag, a, [])
        self.elements.append(el)
        if tag not in VOID:
            self.stack.append(tag)
            self._open.append(el)
        if tag == "script":
            self._script_id = a.get("id", "")
            self.scripts[self._script_id] = ""

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        self._open.pop()
        if tag == "script":
            self._script_id = None

    def handle_data(self, data: str) -> None:
        if self._script_id is not None:
            self.scripts[self._script_id] += data
        for el in self._open:
            el[2].append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[str, dict[str, str], list[str]]]:
        out = []
        for t, a, text in self.elements:
            if t != tag:
                continue
            if all(
                (re.search(rf"(^| ){re.escape(v)}( |$)", a.get("class", "")) if k == "cls" else a.get(k) == v)
                for k, v in attrs.items()
            ):
                out.append((t, a, text))
        return out


def race_data() -> dict[str, Any]:
    model = Model(shipped_variants()["downgrade-4.20"], shipped_scenarios()["stack-below-growsdown"])
    res = Search(model, [shipped_properties()["no_pt_use_after_free"]]).run()
    return json.loads(json.dumps(trace_json(res.properties["no_pt_use_after_free"].trace)))


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(scope="module")
def race_page() -> tuple[dict[str, Any], str, Page]:
    data = race_data()
    text = render_html(build_view(data, Verification("replayed", "replayed: test")))
    return data, text, parse(text)


def test_the_page_is_well_formed_and_self_contained(race_page: tuple[dict[str, Any], str, Page]) -> None:
    _, text, page = race_page
    assert text.startswith("<!DOCTYPE html>")
    assert not page.errors and not page.stack
    assert not page.find("link") and not page.find("img") and not page.find("iframe")
    for _, attrs, _ in page.elements:
        for key in ("src", "href", "action", "data"):
            value = attrs.get(key, "")
            assert not value or value.startswith("#"), (key, value)
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text, re.I)
    assert [a.get("type") for _, a, _ in page.find("script")] == ["application/json", None]


def test_the_trace_is_embedded_as_json(race_page: tuple[dict[str, Any], str, Page]) -> None:
    data, _, page = race_page
    assert json.loads(page.scripts["vmacheck-trace"]) == data


def test_every_step_is_rendered_with_its_picture(race_page: tuple[dict[str, Any], str, Page]) -> None:
    data, _, page = race_page
    frames = page.find("section", cls="frame")
    assert [a["id"] for _, a, _ in frames] == [f"step-{i}" for i in range(len(data["steps"]) + 1)]
    timeline = [a["data-step"] for t, a, _ in page.elements if t == "tr" and "data-step" in a]
    assert timeline == [str(i) for i in range(len(data["steps"]) + 1)]
    ran = page.find("td", cls="ran")
    assert [" ".join(t).strip() for _, _, t in ran] == [st["label"] for st in data["steps"]]


def test_changes_and_the_failing_part_are_marked(race_page: tuple[dict[str, Any], str, Page]) -> None:
    _, text, _ = race_page
    frame11 = text.split('id="step-11"')[1].split("</section>")[0]
    vma_row = re.search(r'<tr data-row="vma"[^>]*>(.*?)</tr>', frame11, re.S)
    assert vma_row is not None
    cells = re.findall(r'<td class="([^"]*)"[^>]*>([^<]*)</td>', vma_row.group(1))
    assert "".join(ch for _, ch in cells) == "...SSSSS"
    assert [p for p, (cls, _) in enumerate(cells) if "chg" in cls.split()] == [3, 4]
    frame12 = text.split('id="step-12"')[1].split("</section>")[0]
    assert 'class="frame last"' in text and "free_pgtables: freed page table 1 (pages 2-3)" in frame12
    ptab = re.search(r'<tr data-row="ptab"[^>]*>(.*?)</tr>', frame12, re.S)
    assert ptab is not None
    ptab_cells = re.findall(r'<td class="([^"]*)"( colspan="2")?[^>]*>([^<]*)</td>', ptab.group(1))
    assert [ch for _, _, ch in ptab_cells] == [".", "-", "+", "+"]
    assert all(span for _, span, _ in ptab_cells)
    assert "fail" in ptab_cells[1][0].split()


def test_the_property_explanation_and_replay_note_are_shown(
    race_page: tuple[dict[str, Any], str, Page],
) -> None:
    _, _, page = race_page
    (prop,) = page.find("details", id="property")
    assert "CVE-2020-29369" in "".join(prop[2])
    (why,) = page.find("p", id="why")
    assert "".join(why[2]) == "T0 freed page table 1 (pages 2-3) with linked S[3,8) over it"
    (replay,) = page.find("dd", id="replay")
    assert "replayed" in "".join(replay[2])


def test_hostile_strings_cannot_break_out_of_the_page() -> None:
    data = race_data()
    data["violation"]["message"] = '</script><script>alert("x")</script><b onmouseover=alert(1)>'
    data["model"]["scenario_summary"] = "<!-- ]]> & \"quoted\" 'single'"
    text = render_html(build_view(data))
    page = parse(text)
    assert not page.errors
    assert len(page.find("script")) == 2 and not page.find("b", onmouseover="alert(1)")
    assert json.loads(page.scripts["vmacheck-trace"])["violation"]["message"] == data["violation"]["message"]


def test_check_html_writes_a_page_next_to_each_json_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["check", "downgrade-4.20", "-s", "stack-below-growsdown", "--html", str(out), "-q"])
    text = capsys.readouterr().out
    assert code == 1
    names = sorted(p.name for p in out.iterdir())
    jsons = [n for n in names if n.endswith(".json")]
    assert sorted(n.replace(".json", ".html") for n in jsons) == [n for n in names if n.endswith(".html")]
    assert len(jsons) == 3  # no_clobber, no_pt_use_after_free, linearizable
    assert f"(HTML viewer: {out}/downgrade-4.20--stack-below-growsdown--no_clobber.html)" in text
    page = parse((out / "downgrade-4.20--stack-below-growsdown--no_clobber.html").read_text())
    assert json.loads(page.scripts["vmacheck-trace"]) == json.loads(
        (out / "downgrade-4.20--stack-below-growsdown--no_clobber.json").read_text()
    )
    (replay,) = page.find("dd", id="replay")
    assert "found by the explicit engine" in "".join(replay[2])


def test_check_html_with_a_separate_trace_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["check", "downgrade-4.20", "-s", "stack-below-growsdown", "-p", "no_clobber", "-q"]
        + ["--html", str(tmp_path / "h"), "--trace-dir", str(tmp_path / "j")]
    )
    capsys.readouterr()
    assert code == 1
    assert [p.name for p in (tmp_path / "h").iterdir()] == [
        "downgrade-4.20--stack-below-growsdown--no_clobber.html"
    ]
    assert [p.name for p in (tmp_path / "j").iterdir()] == [
        "downgrade-4.20--stack-below-growsdown--no_clobber.json"
    ]


def test_show_html_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "race.json"
    trace.write_text(json.dumps(race_data()))
    code = main(["show", str(trace), "--html", str(tmp_path / "race.html")])
    out, err = capsys.readouterr()
    assert code == 0 and not err
    assert "wrote" in out and "race.html" in out and "replayed" in out
    assert json.loads(parse((tmp_path / "race.html").read_text()).scripts["vmacheck-trace"]) == race_data()
    code = main(["show", str(trace), "--html", str(tmp_path / "no" / "such" / "dir.html")])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "cannot write" in err


def _strips(page: Page) -> list[tuple[str, str]]:
    """(name, text) of every compact strip in the timeline's rows, row after row."""
    return [
        (a["data-strip"], "".join(text))
        for t, a, text in page.elements
        if t == "span" and "strip" in a.get("class", "").split() and "ruler" not in a.get("class", "").split()
    ]


def test_show_html_compact_writes_the_compact_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = race_data()
    trace = tmp_path / "race.json"
    trace.write_text(json.dumps(data))
    assert main(["show", str(trace), "--html", str(tmp_path / "c.html"), "--compact"]) == 0
    assert main(["show", str(trace), "--html", str(tmp_path / "n.html")]) == 0
    capsys.readouterr()
    compact, normal = (parse((tmp_path / name).read_text()) for name in ("c.html", "n.html"))
    assert not compact.errors and not compact.stack
    (body,) = compact.find("body")
    assert "compact" in body[1]["class"].split()
    assert not normal.find("body", cls="compact") and not _strips(normal)
    # each row of the timeline: the step's vmas, PTEs and page tables, a character per page
    strips = _strips(compact)
    steps = len(data["steps"]) + 1
    assert [name for name, _ in strips] == ["vma", "pte", "ptab"] * steps
    assert {len(text) for _, text in strips} == {data["model"]["pages"]}
    view = build_view(data)
    for f, (vma, pte, ptab) in zip(view.frames, zip(*[iter(strips)] * 3)):
        rows = {r.key: r for r in f.rows}
        assert pte[1] == "".join(c.char for c in rows["pte"].cells)
        assert ptab[1] == "".join(c.char * rows["ptab"].span for c in rows["ptab"].cells)
        assert vma[1] == "".join(c.char for c in merged_space(f))  # held vmas in lower case
    # the frames are still all there, each with its full picture
    assert len(compact.find("section", cls="frame")) == steps
    assert json.loads(compact.scripts["vmacheck-trace"]) == data


@pytest.fixture(scope="module")
def wide_page() -> tuple[dict[str, Any], Page]:
    data = long_trace(WIDE)
    return data, parse(render_html(build_view(data)))


def test_a_big_trace_gets_narrow_lanes_and_a_grid_in_bands(wide_page: tuple[dict[str, Any], Page]) -> None:
    data, page = wide_page
    assert not page.errors and not page.stack
    (timeline,) = page.find("table", id="timeline")
    assert "narrow" in timeline[1]["class"].split()
    # the step named once, after the lanes; the lane of the thread that ran holds its name
    what = [" ".join("".join(t).split()) for _, _, t in page.find("td", cls="what")]
    assert what[0] == "initial state"
    assert [w.split(" (")[0] for w in what[1:]] == [f"T{st['thread']} {st['label']}" for st in data["steps"]]
    ran = [(a["data-lane"], "".join(t)) for _, a, t in page.find("td", cls="ran")]
    assert ran == [(str(st["thread"]), f"T{st['thread']}") for st in data["steps"]]
    # the grid of each step: bands of whole page tables, every page numbered once
    pages, span = data["model"]["pages"], data["model"]["pt_span"]
    band = span * -(-BAND_PAGES // span)
    numbers = [int(a["data-page"]) for t, a, _ in page.elements if t == "th" and "data-page" in a]
    assert numbers == list(range(pages)) * (len(data["steps"]) + 1)
    labels = [a["aria-label"] for _, a, _ in page.find("table", cls="space")]
    starts = range(0, pages, band)
    assert labels[: len(starts)] == [f"address space, pages {s}-{min(s + band, pages) - 1}" for s in starts]
    assert len(starts) > 1
