"""Steps are typed: mypy knows the kernel and the frame of every shipped step, and catches
in a user's variant file what the checker would otherwise only find when it runs the step."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = sorted((ROOT / "protocol" / "variants").glob("*.py"))
SYSCALLS = sorted((ROOT / "protocol" / "syscalls").glob("*.py"))
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # --follow-imports=silent: the flags judge the files named, not vmacheck's other modules
    cmd = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def via_package(path: Path) -> str:
    """``path`` through the ``vmacheck/`` links, so that mypy names the module as variant files
    import it (``vmacheck.protocol...``)."""
    return str(Path("vmacheck") / path.relative_to(ROOT))


def test_shipped_programs_and_the_docs_example_pass_strict_mypy_without_explicit_any() -> None:
    # syscalls/__init__.py is left out of the Any check: its DEFAULTS holds programs of
    # several frame types (Program[Any]); it defines no step.
    files = [via_package(p) for p in VARIANTS + SYSCALLS if p.name != "__init__.py" or p in VARIANTS]
    res = mypy("--disallow-any-explicit", *files, *(str(p.relative_to(ROOT)) for p in EXAMPLES))
    assert res.returncode == 0, res.stdout + res.stderr
    whole = mypy("-p", "vmacheck.protocol.syscalls", "-p", "vmacheck.protocol.variants")
    assert whole.returncode == 0, whole.stdout + whole.stderr


def _step_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    """Functions decorated ``@prog.step(...)`` or registered ``prog.step(...)(name)``."""
    defs = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}

    def is_step_call(node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step"
        )

    found = [d for d in defs.values() if any(is_step_call(dec) for dec in d.decorator_list)]
    for fn in defs.values():  # steps written for others to register: (k, t) -> None
        names = [a.arg for a in fn.args.args]
        if names == ["k", "t"] and fn.returns is not None and ast.unparse(fn.returns) == "None":
            found.append(fn)
    for outer in defs.values():  # the steps a factory makes (``-> StepFn[...]``)
        if outer.returns is not None and "StepFn" in ast.unparse(outer.returns):
            found += [n for n in outer.body if isinstance(n, ast.FunctionDef)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and is_step_call(node.func) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Name) and arg.id in defs:
                found.append(defs[arg.id])
    return found


@pytest.mark.parametrize("path", VARIANTS + SYSCALLS + EXAMPLES, ids=lambda p: p.name)
def test_every_step_names_the_kernel_and_its_frame(path: Path) -> None:
    steps = _step_functions(ast.parse(path.read_text()))
    for fn in steps:
        where = f"{path.name}:{fn.lineno} {fn.name}"
        k, t = fn.args.args
        assert k.annotation is not None and ast.unparse(k.annotation) == "Kernel", where
        assert t.annotation is not None and "Any" not in ast.unparse(t.annotation), where
        assert fn.returns is not None and ast.unparse(fn.returns) == "None", where


def test_the_step_check_sees_the_steps() -> None:
    # the check above is not vacuous: it sees the steps of each file that writes any
    names = {
        p.name: {f.name for f in _step_functions(ast.parse(p.read_text()))}
        for p in VARIANTS + SYSCALLS + EXAMPLES
    }
    # the steps the 5.8 fix changes are the variant's own, typed, in the file and its copy
    assert {"detach", "downgrade_write", "up_read"} <= names["downgrade_4_20.py"] & names["my_munmap.py"]
    assert {"fault_find_vma", "fault_find_vma_again"} <= names["stack_write_6_5.py"]
    assert {"find_vma", "split_first", "split_last", "unmap_vmas_step", "remove_vma_list_step"} <= names[
        "munmap.py"
    ]
    assert {"down_write", "up_write_return", "up_read_return"} <= names["common.py"]


BAD = """
from __future__ import annotations

from vmacheck import Kernel, Program
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, RangeArgs, RangeCall, range_of
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame

munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


@munmap.step("find_vma")
def find_vma(k: Kernel, t: DoMunmapFrame) -> None:
    t.end = t.stat + t.len
    t.start = 0
    k.split_vma(t.vma, t.start)


@munmap.step("other")
def other(k: Kernel, t: RangeCall) -> None:
    k.ret(t.retval)
"""


def test_mypy_reports_a_typo_a_write_to_a_parameter_and_a_step_of_another_frame(tmp_path: Path) -> None:
    bad = tmp_path / "bad_variant.py"
    bad.write_text(BAD)
    res = mypy(str(bad))
    out = res.stdout
    assert res.returncode == 1, out + res.stderr
    assert 'bad_variant.py:13: error: "DoMunmapFrame" has no attribute "stat"' in out
    assert 'bad_variant.py:14: error: Cannot assign to final attribute "start"' in out
    assert "bad_variant.py:15: error: Missing positional argument" in out  # new_below
    assert "bad_variant.py:18: error: Argument 1 has incompatible type" in out  # a RangeCall step
    # the same file without the mistakes passes
    good = tmp_path / "good_variant.py"
    good.write_text(
        BAD.replace("t.stat", "t.start")
        .replace("    t.start = 0\n", "")
        .replace("t.start)\n", "t.start, new_below=False)\n")
        .replace("t: RangeCall", "t: RangeArgs")
        .replace("k.ret(t.retval)", "k.ret(0)")
    )
    res = mypy(str(good))
    assert res.returncode == 0, res.stdout + res.stderr
