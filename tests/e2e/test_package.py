"""The distribution a user installs: one top-level package, ``vmacheck``, with its version,
its command and ``python -m vmacheck``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

import vmacheck

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # setuptools builds in place: leave the checkout as it was (build/ and egg-info are ignored
    # by git, but a stale build/lib holds old copies of every module)
    leftovers = [p for p in (ROOT / "build", ROOT / "vmacheck.egg-info") if not p.exists()]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for p in leftovers:
        shutil.rmtree(p, ignore_errors=True)
    (found,) = out.glob("vmacheck-*.whl")
    return found


def test_the_wheel_installs_only_the_vmacheck_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"vmacheck", f"vmacheck-{vmacheck.__version__}.dist-info"}
    for sub in ("protocol/state.py", "properties/no_clobber.py", "checker/cli.py", "__main__.py"):
        assert f"vmacheck/{sub}" in names
    # the JSON Schemas the trace validator loads at run time, identical to docs/schema/
    for schema in ("trace-1.schema.json", "results-1.schema.json"):
        shipped = zipfile.ZipFile(wheel).read(f"vmacheck/checker/report/schema/{schema}")
        assert shipped == (ROOT / "docs" / "schema" / schema).read_bytes()
    entry = zipfile.ZipFile(wheel).read(f"vmacheck-{vmacheck.__version__}.dist-info/entry_points.txt")
    assert b"vmacheck = vmacheck.checker.cli:main" in entry


def test_version_is_the_distribution_version() -> None:
    assert vmacheck.__version__ == version("vmacheck")
    run = subprocess.run([sys.executable, "-m", "vmacheck", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == f"vmacheck {vmacheck.__version__}"


def test_python_m_vmacheck_is_the_command_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "vmacheck", "list", "--json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0 and '"downgrade-4.20"' in run.stdout


def test_the_public_api_is_importable_from_vmacheck() -> None:
    from vmacheck import VM_GROWSDOWN, Kernel, Program, Scenario, Variant, VmaSpec, oneof, thread

    assert all(
        x is not None for x in (VM_GROWSDOWN, Kernel, Program, Scenario, Variant, VmaSpec, oneof, thread)
    )


def test_no_module_imports_the_old_top_level_names() -> None:
    import re

    old = re.compile(r"^\s*(from|import) (protocol|properties|checker)\b", re.M)
    offenders = [
        str(f.relative_to(ROOT))
        for folder in ("protocol", "properties", "checker", "tests", "benchmarks", "docs")
        for f in (ROOT / folder).rglob("*.py")
        if old.search(f.read_text())
    ]
    assert offenders == []


def test_the_installed_package_validates_traces_with_the_schema_it_ships(wheel: Path, tmp_path: Path) -> None:
    """Installed from the wheel (not from this checkout), vmacheck finds its JSON Schema."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import json, sys, vmacheck.checker.report.trace as t;"
        "print(t.__file__);"
        "t.validate_trace(json.load(open(sys.argv[1])));"
        "print(t.schema_document()['$id'])"
    )
    argv = ["check", "rfc-v2-read-split", "-s", "map-fixed", "-p", "lock_discipline", "--trace-dir", "out"]
    found = subprocess.run(
        [sys.executable, "-m", "vmacheck", *argv, "-q", "--no-traces"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert found.returncode == 1, found.stderr  # the violation: its trace is written
    (trace,) = (tmp_path / "out").glob("*.json")
    run = subprocess.run(
        [sys.executable, "-c", code, str(trace)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    where, schema_id = run.stdout.split()
    assert Path(where).is_relative_to(target)
    assert schema_id == "urn:vmacheck:schema:trace-1"
