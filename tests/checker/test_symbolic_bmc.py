"""The symbolic engine against the explicit one, on the same models.

With ``--layout scenario`` the symbolic engine checks exactly the explicit engine's model:
every verdict and every shortest counterexample length must agree, and its counterexamples
replay on the explicit model. With ``--layout any`` (every address layout) it must never
prove what the explicit engine refutes. A representative set runs in every CI run; the
whole matrix (about three minutes) with ``VMACHECK_SYMBOLIC_FULL=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.schemas import assert_valid_trace
from vmacheck.checker.core.result import HOLDS, PROVED, UNKNOWN, VIOLATED
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.engines.symbolic.engine import SymbolicCheck
from vmacheck.checker.report.trace import load_trace_json, replay_trace, trace_json, write_trace
from vmacheck.properties import shipped as shipped_properties

from .symbolic_support import PAIRS, model_of

PROPS = list(shipped_properties().values())
FULL = os.environ.get("VMACHECK_SYMBOLIC_FULL") == "1"

# every scenario of the three kernel releases, and for each other variant the scenarios
# where it breaks something
REPRESENTATIVE = [
    (v, s)
    for v, s in PAIRS
    if v in ("baseline-4.19", "downgrade-4.20", "downgrade-5.8")
    or (v, s)
    in {
        ("rfc-v1-sections", "map-fixed"),
        ("rfc-v2-read-split", "map-fixed"),
        ("rfc-v2-read-split", "mprotect-at-limit"),
        ("rfc-v3-three-phase", "access-split-vma"),
        ("rfc-v3-three-phase", "munmap-at-limit"),
        ("upgrade-read", "two-munmaps"),
        ("rfc-v4-redo", "map-fixed"),
        ("ebusy-on-dead", "map-fixed"),
        ("stack-write-6.5", "stack-relookup-map-fixed"),
    }
]


def _agree(variant: str, scenario: str, tmp_path: Path) -> None:
    m = model_of(variant, scenario)
    explicit = Search(m, PROPS).run()
    symbolic = SymbolicCheck(m, PROPS, layout="scenario", depth=80).run()
    for p in PROPS:
        a, b = explicit.properties[p.name], symbolic.properties[p.name]
        where = f"{variant} / {scenario} / {p.name}: explicit {a.verdict}, symbolic {b.verdict} ({b.reason})"
        assert a.verdict in (HOLDS, VIOLATED)
        assert b.verdict == a.verdict, where
        assert b.trace_length == a.trace_length, where
        if b.verdict == VIOLATED:
            path = tmp_path / f"{p.name}.json"
            write_trace(b.trace, path)
            assert_valid_trace(json.loads(path.read_text()))  # the published schema, by jsonschema itself
            rep = replay_trace(m, load_trace_json(path))
            assert rep.problem is None, f"{where}: {rep.problem}"
            assert json.loads(json.dumps(trace_json(b.trace)))["engine"] == "symbolic"


@pytest.mark.parametrize("variant,scenario", REPRESENTATIVE, ids=[f"{v}:{s}" for v, s in REPRESENTATIVE])
def test_pinned_layout_agrees_with_explicit(variant: str, scenario: str, tmp_path: Path) -> None:
    _agree(variant, scenario, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not FULL, reason="the whole matrix runs with VMACHECK_SYMBOLIC_FULL=1")
@pytest.mark.parametrize("variant,scenario", PAIRS, ids=[f"{v}:{s}" for v, s in PAIRS])
def test_pinned_layout_agrees_with_explicit_everywhere(variant: str, scenario: str, tmp_path: Path) -> None:
    _agree(variant, scenario, tmp_path)


ANY_LAYOUT = [
    ("downgrade-4.20", "access-split-vma"),
    ("rfc-v3-three-phase", "access-split-vma"),
    ("baseline-4.19", "access-split-vma"),
    ("baseline-4.19", "munmap-over-limit"),
]


@pytest.mark.parametrize("variant,scenario", ANY_LAYOUT, ids=[f"{v}:{s}" for v, s in ANY_LAYOUT])
def test_any_layout_never_proves_a_refuted_property(variant: str, scenario: str) -> None:
    m = model_of(variant, scenario)
    explicit = Search(m, PROPS).run()
    symbolic = SymbolicCheck(m, PROPS, layout="any", depth=60).run()
    for p in PROPS:
        a, b = explicit.properties[p.name], symbolic.properties[p.name]
        if a.verdict == VIOLATED:
            # every layout includes the scenario's own: the same violation, found as early
            assert b.verdict == VIOLATED, f"{variant} / {scenario} / {p.name}: {b.verdict} ({b.reason})"
            assert b.trace_length is None or b.trace_length <= a.trace_length
        else:
            assert b.verdict in (PROVED, VIOLATED, UNKNOWN)
