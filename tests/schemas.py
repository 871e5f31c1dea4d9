"""The published JSON Schema documents (docs/schema/), for tests that check what vmacheck
writes with the ``jsonschema`` library directly, independently of vmacheck's own validator.

``closed=True`` (the default) also forbids keys the schema does not define
(``unevaluatedProperties: false`` added to every object that lists its properties): the
published schemas allow extra keys so that tools may extend the formats, but vmacheck itself
must write nothing its schema leaves undocumented.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "schema"
TRACE = "trace-1.schema.json"
RESULTS = "results-1.schema.json"


def published(name: str) -> dict[str, Any]:
    return json.loads((PUBLISHED / name).read_text())  # type: ignore[no-any-return]


def _closed(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if "properties" in node and "additionalProperties" not in node and node.get("type") == "object":
            out["unevaluatedProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(x) for x in node]
    return node


@functools.cache
def validator(name: str, closed: bool = True) -> Draft202012Validator:
    schema = published(name)
    return Draft202012Validator(_closed(copy.deepcopy(schema)) if closed else schema)


def errors(name: str, doc: Any, closed: bool = True) -> list[str]:
    """Every problem the published schema finds in ``doc`` (as read back from a file)."""
    doc = json.loads(json.dumps(doc))
    found = validator(name, closed).iter_errors(doc)
    return [f"{e.json_path}: {e.message[:200]}" for e in sorted(found, key=lambda e: list(map(str, e.path)))]


def assert_valid_trace(doc: Any) -> None:
    problems = errors(TRACE, doc)
    assert not problems, problems[:5]


def assert_valid_results(doc: Any) -> None:
    problems = errors(RESULTS, doc)
    assert not problems, problems[:5]
