"""The trace documentation is true: docs/reading-a-trace.md quotes what vmacheck prints today,
docs/trace-format.md documents every key a trace holds, every key its schema defines and
every event kind, and the JSON examples in docs/ are valid by the published schemas."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests import schemas
from vmacheck.checker.cli import main
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.loader import load_file
from vmacheck.checker.report.trace import trace_json, validate_trace
from vmacheck.checker.report.viewer.verify import REPLAYED, verify
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, events
from vmacheck.protocol.scenarios import shipped as shipped_scenarios

ROOT = Path(__file__).resolve().parents[2]
READING = ROOT / "docs" / "reading-a-trace.md"
FORMAT = ROOT / "docs" / "trace-format.md"
CLI = ROOT / "docs" / "cli.md"
TRACE = "downgrade-4.20--stack-below-growsdown--no_pt_use_after_free.json"


def _blocks(path: Path) -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)\n```", path.read_text(), re.S)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("doc")
    texts = []
    for argv in (
        [
            "check",
            "downgrade-4.20",
            "--scenario",
            "stack-below-growsdown",
            "--trace-dir",
            str(out),
            "-q",
            "--no-traces",
        ],
        ["show", str(out / TRACE), "--color", "never"],
        ["show", str(out / TRACE), "--compact", "--color", "never"],
    ):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            main(argv)
        # compare without trailing blanks (the verdict table pads its names)
        texts.append("\n".join(line.rstrip() for line in buf.getvalue().splitlines()))
    return texts


def test_reading_a_trace_quotes_real_output(outputs: list[str]) -> None:
    quoted = [body for lang, body in _blocks(READING) if lang == ""]
    assert len(quoted) >= 4
    for body in quoted:
        assert any(body in text for text in outputs), body[:200]


def test_reading_a_trace_commands_and_screenshot_exist() -> None:
    text = READING.read_text()
    for lang, body in _blocks(READING):
        if lang == "sh":
            assert body.startswith("vmacheck "), body
    (image,) = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert (READING.parent / image).is_file()


def _keys(value: Any, out: set[str], skip: bool = False) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            if not skip:
                out.add(key)
            # the names inside locals and args are the programs' own, not the format's
            _keys(sub, out, skip=key in ("locals", "args"))
    elif isinstance(value, list):
        for sub in value:
            _keys(sub, out)


def test_trace_format_documents_every_key_and_event_kind() -> None:
    doc = FORMAT.read_text()
    keys: set[str] = set()
    for v in load_file(str(Path(__file__).with_name("test_trace_variants.py"))).variants.values():
        for scenario in ("map-fixed", "two-munmaps"):
            res = Search(Model(v, shipped_scenarios()[scenario]), list(shipped_properties().values())).run()
            for pr in res.violated:
                _keys(json.loads(json.dumps(trace_json(pr.trace))), keys)
    assert {"waiters", "vmas", "owner", "digest", "choices"} <= keys
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert not missing, f"docs/trace-format.md does not document {missing}"
    kinds = [v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)]
    assert len(kinds) >= 10
    assert not [k for k in kinds if f"| `{k}` |" not in doc]


def _schema_keys(node: Any, out: set[str]) -> set[str]:
    """Every key a JSON Schema document names (in ``properties``, anywhere in it)."""
    if isinstance(node, dict):
        for key, sub in node.items():
            if key == "properties":
                out |= set(sub)
                subs = list(sub.values())
            else:
                subs = [sub]
            for x in subs:
                _schema_keys(x, out)
    elif isinstance(node, list):
        for sub in node:
            _schema_keys(sub, out)
    return out


def _documented(key: str, doc: str) -> bool:
    """Named in the prose: as `key`, or inside a quoted JSON fragment (`{"key": ...}`)."""
    return f"`{key}`" in doc or re.search(rf'`[^`\n]*"{re.escape(key)}"[^`\n]*`', doc) is not None


def test_trace_format_documents_every_key_the_schema_defines() -> None:
    doc = FORMAT.read_text()
    keys = _schema_keys(schemas.published(schemas.TRACE), set())
    assert {"search", "scenario_summary", "page_table", "gen", "list", "waiters", "detail"} <= keys
    assert not sorted(k for k in keys if not _documented(k, doc))
    assert "schema/trace-1.schema.json" in doc and "schema/results-1.schema.json" in doc


def test_cli_doc_documents_every_results_key_and_links_the_schema() -> None:
    doc = CLI.read_text()
    keys = _schema_keys(schemas.published(schemas.RESULTS), set())
    assert {"verdict", "trace_length", "states_per_second", "bound"} <= keys
    assert not sorted(k for k in keys if not _documented(k, doc))
    assert "schema/results-1.schema.json" in doc


def test_the_trace_example_is_valid_and_the_model_produces_it() -> None:
    (example,) = [body for lang, body in _blocks(FORMAT) if lang == "json"]
    data = json.loads(example)
    schemas.assert_valid_trace(data)
    validate_trace(data)
    assert data["steps"] and all(data["model"][k] for k in ("pages", "pt_span", "threads"))
    checked = verify(data)
    assert checked.status == REPLAYED, checked.note


def test_the_results_example_is_valid() -> None:
    (example,) = [body for lang, body in _blocks(CLI) if lang == "json"]
    data = json.loads(example)
    schemas.assert_valid_results(data)
    assert {p["verdict"] for r in data["results"] for p in r["properties"].values()} == {"holds", "violated"}


def test_the_validation_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python that docs/trace-format.md gives for validating a trace with jsonschema
    works as written, from the top of the repository, on the trace the doc's command writes."""
    (snippet,) = [body for lang, body in _blocks(FORMAT) if lang == "python"]
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    (tmp_path / "out").mkdir()
    main(
        ["check", "downgrade-4.20", "-s", "stack-below-growsdown", "--trace-dir", str(tmp_path / "out"), "-q"]
    )
    monkeypatch.chdir(tmp_path)
    exec(snippet, {})  # noqa: S102 - the documentation's own example
    bad = json.loads((tmp_path / "out" / TRACE).read_text())
    bad["steps"][0]["step"] = "1"
    (tmp_path / "out" / TRACE).write_text(json.dumps(bad))
    with pytest.raises(Exception, match="is not of type 'integer'"):
        exec(snippet, {})  # noqa: S102
