"""The terminal viewer: readable when piped (plain ASCII, no escape codes, nothing wrapped),
lanes that line up, highlights that become marker lines without colour, and the three forms
(full, only changes, compact)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tests.viewer_traces import BIG, long_trace
from vmacheck.checker.cli import main
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.report.trace import trace_json
from vmacheck.checker.report.viewer import TerminalOptions, build_view, render_terminal, verify
from vmacheck.checker.report.viewer.frames import TraceView
from vmacheck.checker.report.viewer.terminal import CHANGES, COMPACT, FULL
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

ROOT = Path(__file__).resolve().parents[2]


def race_data() -> dict:  # type: ignore[type-arg]
    model = Model(shipped_variants()["downgrade-4.20"], shipped_scenarios()["stack-below-growsdown"])
    res = Search(model, [shipped_properties()["no_pt_use_after_free"]]).run()
    return trace_json(res.properties["no_pt_use_after_free"].trace)


def race_view() -> TraceView:
    data = race_data()
    return build_view(data, verify(data))


def plain(view: TraceView, mode: str = FULL) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=60, highlight=False)
    render_terminal(view, console, TerminalOptions(mode=mode))
    return buf.getvalue()


def coloured(view: TraceView, mode: str = FULL) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=60, highlight=False)
    render_terminal(view, console, TerminalOptions(mode=mode))
    return buf.getvalue()


def _step_line(text: str, n: int) -> str:
    (line,) = [ln for ln in text.splitlines() if re.match(rf"^ {{0,3}}{n}  ", ln)]
    return line


@pytest.mark.parametrize("mode", [FULL, CHANGES, COMPACT])
def test_piped_output_is_plain_ascii_and_never_wrapped(mode: str) -> None:
    view = race_view()
    text = plain(view, mode)
    assert "\x1b" not in text
    # what the viewer draws is ASCII; only prose quoted from a docstring may not be
    assert {c for c in text if not c.isascii()} <= set(view.property_doc)
    # a narrow (60 column) console does not wrap: each step stays on its line with its lock state
    line = _step_line(text, 11)
    assert "expand_stack" in line and "R by {T0,T1}" in line


def test_header_names_the_violation_the_failing_part_and_the_replay() -> None:
    text = plain(race_view())
    head = text.split("\nstep ")[0]
    assert head.startswith(
        "no_pt_use_after_free VIOLATED  downgrade-4.20, scenario stack-below-growsdown, 12 steps"
    )
    assert "why       T0 freed page table 1 (pages 2-3) with linked S[3,8) over it" in head
    assert "where     thread T0 munmap(start=2, len=2), last step free_pgtables (free_pgtables)" in head
    assert "vma S[3,8) GROWSDOWN" in head
    assert "CVE-2020-29369" in head  # the property's explanation
    assert "threads   T0 munmap(start=2, len=2)   T1 access(addr=3)" in head
    assert "replay    replayed: the current model produces this trace step by step" in head
    assert text.rstrip().endswith("=> T0 freed page table 1 (pages 2-3) with linked S[3,8) over it")


def test_lanes_line_up_under_their_threads() -> None:
    text = plain(race_view())
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("step  "))
    t1_column = header.index("T1 access")
    assert _step_line(text, 9).index("down_read") == t1_column
    assert _step_line(text, 1).index("down_write") == header.index("T0 munmap")
    assert _step_line(text, 9)[header.index("T0 munmap")] == ":"  # T0 is alive, not running


def test_without_colour_changes_and_the_failing_part_are_marked_under_the_rows() -> None:
    text = plain(race_view())
    block = text.split(_step_line(text, 11))[1].split("\n\n")[0].splitlines()
    vma = next(i for i, ln in enumerate(block) if ln.strip().startswith("vma "))
    row, marks = block[vma], block[vma + 1]
    assert row.endswith("...SSSSS")
    start = len(row) - 8
    assert [p for p in range(8) if start + p < len(marks) and marks[start + p] == "^"] == [3, 4]
    last = text.split(_step_line(text, 12))[1].split("\n\n")[0].splitlines()
    ptab = next(i for i, ln in enumerate(last) if ln.strip().startswith("ptab "))
    assert last[ptab].endswith("..--++++")
    assert last[ptab + 1].rstrip().endswith("!!") and last[ptab + 1][start : start + 4] == "  !!"


def test_with_colour_the_highlights_are_styles_not_markers() -> None:
    text = coloured(race_view())
    assert "\x1b[" in text
    assert "^^" not in text and "!!" not in text
    assert "\x1b[1;30;43m" in text  # changed cells: bold black on yellow
    assert "\x1b[1;37;41m" in text  # the failing part: bold white on red


def test_compact_is_one_line_per_step() -> None:
    text = plain(race_view(), COMPACT)
    steps = [ln for ln in text.splitlines() if re.match(r"^ {0,3}\d+  ", ln)]
    assert len(steps) == 13
    assert "..aSSSSS" in _step_line(text, 11)  # the stack over the detached range (lower case)
    assert _step_line(text, 11).rstrip().endswith("S [5,8) -> [3,8)")


def test_only_changes_omits_unchanged_rows() -> None:
    text = plain(race_view(), CHANGES)
    block = text.split(_step_line(text, 9))[1].split("\n\n")[0]
    assert "changes   mmap_sem R by {T0,T1}" in block and "vma " not in block
    block = text.split(_step_line(text, 11))[1].split("\n\n")[0]
    assert "vma " in block and "pte " not in block
    full = plain(race_view(), FULL)
    assert len(text.splitlines()) < len(full.splitlines()) / 2


def test_an_ascii_only_output_gets_question_marks_not_a_traceback() -> None:
    view = race_view()
    view.property_doc += "\n\nUnicode in a docstring \u2014 and \u2192 arrows."
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    render_terminal(view, Console(file=stream, force_terminal=False, highlight=False))
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "Unicode in a docstring ? and ? arrows." in text and "expand_stack" in text


def test_show_through_a_pipe_has_no_escape_codes(tmp_path: Path) -> None:
    trace = tmp_path / "race.json"
    trace.write_text(__import__("json").dumps(race_data()))
    proc = subprocess.run(
        [sys.executable, "-m", "vmacheck", "show", str(trace)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    assert "expand_stack" in proc.stdout and "replayed" in proc.stdout


def test_color_never_and_always(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "race.json"
    trace.write_text(__import__("json").dumps(race_data()))
    assert main(["show", str(trace), "--color", "never", "--compact"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert main(["show", str(trace), "--color", "always", "--compact"]) == 0
    assert "\x1b[" in capsys.readouterr().out


def test_compact_and_only_changes_exclude_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["show", "x.json", "--compact", "--only-changes"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# --- big traces on a terminal: 6-8 threads, 32-64 pages, 40-100 steps -------------------------
@pytest.fixture(scope="module")
def big_views() -> dict[str, TraceView]:
    return {sc.name: build_view(long_trace(sc)) for sc in BIG}


def fitted(view: TraceView, width: int, mode: str = FULL, colour: bool = False) -> str:
    """What a terminal ``width`` columns wide shows (without colour unless ``colour``)."""
    buf = io.StringIO()
    system = "standard" if colour else None
    console = Console(file=buf, force_terminal=True, color_system=system, width=width, highlight=False)
    render_terminal(view, console, TerminalOptions(mode=mode))
    return buf.getvalue()


def _block(text: str, n: int) -> list[str]:
    """The lines of step ``n``'s block, from its step line to the blank line after it."""
    lines = text.splitlines()
    first = next(i for i, ln in enumerate(lines) if re.match(rf"^ {{0,3}}{n}  ", ln))
    end = lines.index("", first)
    return lines[first:end]


def _read_ruler(tens: str | None, units: str, start: int) -> list[int]:
    """The page numbers a ruler names from column ``start`` on, read as a reader does: the
    last digit below, the tens from the latest digit above it."""
    pages, ten = [], 0
    for col in range(start, len(units)):
        if tens is not None and col < len(tens) and tens[col] != " ":
            ten = int(tens[col])
        pages.append(ten * 10 + int(units[col]))
    return pages


BIG_NAMES = [sc.name for sc in BIG]


@pytest.mark.parametrize("width", [72, 100])
@pytest.mark.parametrize("name", BIG_NAMES)
def test_a_big_trace_fits_the_terminal_in_every_form(
    big_views: dict[str, TraceView], name: str, width: int
) -> None:
    view = big_views[name]
    assert len(view.calls) >= 6 and view.pages >= 32 and view.nsteps >= 30  # big, as meant
    for mode in (FULL, CHANGES, COMPACT):
        text = fitted(view, width, mode)
        assert not [ln for ln in text.splitlines() if len(ln) > width], mode
        for n in range(view.nsteps + 1):  # every step is there, numbered
            assert any(re.match(rf"^ {{0,3}}{n}  ", ln) for ln in text.splitlines()), (mode, n)
    escape = re.compile(r"\x1b\[[0-9;]*m")
    text = fitted(view, width, FULL, colour=True)
    assert "\x1b[" in text and max(len(escape.sub("", ln)) for ln in text.splitlines()) <= width


@pytest.mark.parametrize("width", [60, 100])
@pytest.mark.parametrize("name", BIG_NAMES)
def test_the_page_strip_wraps_into_numbered_bands(
    big_views: dict[str, TraceView], name: str, width: int
) -> None:
    view = big_views[name]
    block = _block(fitted(view, width), 0)
    start = len("      page      ")
    pages: list[int] = []
    vma = ""
    rulers = [i for i, ln in enumerate(block) if ln.startswith("      page ")]
    for i in rulers:
        tens, units = block[i], block[i + 1]
        band = _read_ruler(tens, units, start)
        pages += band
        (row,) = [ln for ln in block[i + 2 :] if ln.startswith("      vma ")][:1]
        assert len(row) - start == len(band)  # a character per page, under its number
        vma += row[start:]
    assert pages == list(range(view.pages))
    assert vma == "".join(c.char for c in view.frames[0].rows[0].cells)
    # bands only when the strip does not fit beside the row names
    assert (len(rulers) > 1) == (view.pages > width - start)


def test_narrow_lanes_put_each_step_under_its_thread(big_views: dict[str, TraceView]) -> None:
    view = big_views["wide-stack-race"]
    text = fitted(view, 100)
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("step  "))
    columns = [header.index(f"T{tid} ") for tid in range(len(view.calls))]
    assert columns == sorted(columns) and len(set(columns)) == len(columns)
    for f in view.frames[1:]:
        (line,) = [ln for ln in lines if re.match(rf"^ {{0,3}}{f.index}  ", ln)]
        for tid, col in enumerate(columns):
            want = f"T{tid}" if tid == f.thread else " " if f.threads[tid].done else ":"
            assert line[col : col + 2].strip() == want.strip(), (f.index, tid, line)
        assert f"T{f.thread} {f.label}" in line[max(columns) + 2 :]
    # the threads' names stand for their calls, one a line in the header
    for name, call in view.calls:
        assert any(ln.strip().endswith(f"{name} {call}") for ln in lines[:40])


@pytest.mark.parametrize("name", BIG_NAMES)
def test_compact_puts_the_strips_in_bands_of_their_own_when_they_do_not_fit(
    big_views: dict[str, TraceView], name: str
) -> None:
    view = big_views[name]
    lines = fitted(view, 100, COMPACT).splitlines()
    heads = [i for i, ln in enumerate(lines) if ln.startswith("step  vma ")]
    assert len(heads) > 1
    pages: list[int] = []
    for i in heads:
        tens, units = lines[i + 1], lines[i + 2]
        strip = units[6:].split("  ")[0]
        band = _read_ruler(tens[: 6 + len(strip)], units[: 6 + len(strip)], 6)
        pages += band
        steps = lines[i + 3 : i + 3 + view.nsteps + 1]
        assert [int(ln[:4]) for ln in steps] == list(range(view.nsteps + 1))
    assert pages == list(range(view.pages))


def test_a_two_thread_trace_keeps_its_lanes_on_an_80_column_terminal() -> None:
    view = race_view()
    piped, terminal = plain(view), fitted(view, 80)
    steps = [ln for ln in piped.splitlines() if re.match(r"^ {0,3}\d+  ", ln)]
    assert len(steps) == view.nsteps + 1 and max(len(ln) for ln in steps) <= 80
    assert set(steps) <= set(terminal.splitlines())  # the same lanes, line for line
    assert max(len(ln) for ln in terminal.splitlines()) <= 80 < max(len(ln) for ln in piped.splitlines())
