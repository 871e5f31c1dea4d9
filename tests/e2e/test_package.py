"""The distribution a user installs: one top-level package, ``vmacheck``, with its version,
its command and ``python -m vmacheck``."""

from __future__ import annotations

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
