"""The worked example of docs/writing-a-variant.md is real: its snippets are the example
file's (or the shipped code's), the example file equals downgrade-5.8 in verdicts, and the
doc's scenario loads."""

from __future__ import annotations

import re
from pathlib import Path

from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.loader import load_file
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, Scenario
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "writing-a-variant.md"
EXAMPLE = ROOT / "docs" / "examples" / "my_munmap.py"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_doc_snippets_are_taken_from_the_files() -> None:
    """Every snippet is the example file's, a shipped variant's or the library's (the frames
    munmap programs use), so the doc shows code that runs."""
    library = sorted((ROOT / "protocol" / "syscalls").glob("*.py"))
    sources = [EXAMPLE.read_text()] + [Path(v.file).read_text() for v in shipped_variants().values()]
    sources += [p.read_text() for p in library]
    blocks = [b for b in _blocks() if "SCENARIOS" not in b]
    assert len(blocks) >= 5
    for block in blocks:
        assert any(block in source for source in sources), block[:80]


def _verdicts(variant: object) -> dict[tuple[str, str], tuple[str, int | None]]:
    out = {}
    for name, sc in shipped_scenarios().items():
        if not sc.exhaustive:
            continue
        res = Search(Model(variant, sc), list(shipped_properties().values())).run()  # type: ignore[arg-type]
        for prop, pr in res.properties.items():
            out[(name, prop)] = (pr.verdict, pr.trace_length)
    return out


def test_example_equals_downgrade_5_8() -> None:
    (mine,) = load_file(str(EXAMPLE)).variants.values()
    assert _verdicts(mine) == _verdicts(shipped_variants()["downgrade-5.8"])


def test_doc_scenario_is_valid_and_finds_the_race_in_4_20() -> None:
    (block,) = [b for b in _blocks() if "SCENARIOS" in b]
    scope: dict[str, object] = {}
    exec(block, scope)  # noqa: S102 - the documentation's own example
    (sc,) = scope["SCENARIOS"]  # type: ignore[misc]
    assert isinstance(sc, Scenario)
    res = Search(Model(shipped_variants()["downgrade-4.20"], sc), list(shipped_properties().values())).run()
    assert res.properties["no_clobber"].verdict == "violated"
    (mine,) = load_file(str(EXAMPLE)).variants.values()
    fixed = Search(Model(mine, sc), list(shipped_properties().values())).run()
    assert not fixed.violated
