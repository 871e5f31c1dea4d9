"""The trace documentation is true: docs/reading-a-trace.md quotes what vmacheck prints today,
and docs/trace-format.md documents every key a trace holds and every event kind."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from vmacheck.checker.cli import main
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.loader import load_file
from vmacheck.checker.report.trace import trace_json
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, events
from vmacheck.protocol.scenarios import shipped as shipped_scenarios

ROOT = Path(__file__).resolve().parents[2]
READING = ROOT / "docs" / "reading-a-trace.md"
FORMAT = ROOT / "docs" / "trace-format.md"
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
