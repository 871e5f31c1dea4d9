"""Finding what the user named: shipped variants, scenarios and properties, or a user's
Python file that defines a variant (and may define scenarios and properties).

Every failure is a :class:`UserError` whose one-line message names the problem and where
it is (file and line), never a traceback.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from vmacheck.checker.errors import UserError
from vmacheck.properties import Property
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Scenario, Variant, VariantError
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants


@dataclass
class Catalogue:
    """Everything that can be checked: shipped items plus those of user files."""

    variants: dict[str, Variant] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)

    @classmethod
    def shipped(cls) -> Catalogue:
        try:
            return cls(shipped_variants(), shipped_scenarios(), shipped_properties())
        except VariantError as exc:  # pragma: no cover - a broken shipped file
            raise UserError(str(exc)) from None


def _where_in(path: Path, exc: BaseException) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == path.resolve():
            return f"{path}:{frame.lineno}"
    return str(path)


# The packages vmacheck installed at the top level before they moved under ``vmacheck.``.
_OLD_PACKAGES = ("protocol", "properties", "checker")


class OldImport(ImportError):
    """A variant file imports one of vmacheck's packages by its old top-level name."""

    def __init__(self, name: str) -> None:
        new = (
            "from vmacheck import Program, Variant, ..." if name == "protocol" else f"import vmacheck.{name}"
        )
        super().__init__(f"'{name}' is vmacheck's old package name: write `{new}` instead")


def _ours(spec: importlib.machinery.ModuleSpec, name: str) -> bool:
    import vmacheck

    mine = Path(vmacheck.__file__).parent / name
    return any(Path(p).resolve() == mine.resolve() for p in spec.submodule_search_locations or ())


class _OldNames(importlib.abc.MetaPathFinder):
    """While a variant file loads: ``import protocol`` (and ``properties``, ``checker``)
    fails with the new name, unless the user has a package of that name of their own."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if path is not None or fullname not in _OLD_PACKAGES:
            return None
        found = importlib.machinery.PathFinder.find_spec(fullname)
        if found is not None and not _ours(found, fullname):
            return None
        raise OldImport(fullname)


def load_file(spec: str) -> Catalogue:
    """Import a user's variant file; collect the variants, scenarios and properties it defines."""
    path = Path(spec)
    if not path.exists():
        raise UserError(f"variant file {spec}: no such file")
    if path.is_dir() or path.suffix != ".py":
        raise UserError(f"variant file {spec}: not a Python (.py) file")
    name = f"vmacheck_user_{abs(hash(str(path.resolve())))}"
    try:
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise UserError(f"variant file {spec}: cannot be imported")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        finder = _OldNames()
        sys.meta_path.insert(0, finder)
        try:
            module_spec.loader.exec_module(module)
        finally:
            sys.meta_path.remove(finder)
    except UserError:
        raise
    except OldImport as exc:
        raise UserError(f"{_where_in(path, exc)}: {exc}") from None
    except SyntaxError as exc:
        raise UserError(f"{spec}:{exc.lineno}: syntax error: {exc.msg}") from None
    except VariantError as exc:
        raise UserError(f"{_where_in(path, exc)}: {exc}") from None
    except Exception as exc:
        raise UserError(f"{_where_in(path, exc)}: loading failed: {type(exc).__name__}: {exc}") from None
    cat = Catalogue()
    for value in list(vars(module).values()):
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, Variant):
                item.file = str(path)
                cat.variants.setdefault(item.name, item)
            elif isinstance(item, Scenario):
                cat.scenarios.setdefault(item.name, item)
            elif isinstance(item, Property) and item.name:
                cat.properties.setdefault(item.name, item)
    if not cat.variants:
        raise UserError(f"{spec}: defines no variant (expected e.g. VARIANT = Variant(...))")
    for variant in cat.variants.values():
        try:
            variant.validate()
        except VariantError as exc:
            raise UserError(f"{spec}: {exc}") from None
    return cat


def is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or Path(spec).exists()


def resolve_variant(spec: str, cat: Catalogue) -> list[Variant]:
    """Variants named by ``spec`` (a shipped name or a file); adds a file's scenarios and
    properties to ``cat``."""
    if spec in cat.variants and not is_file_spec(spec):
        return [cat.variants[spec]]
    if is_file_spec(spec):
        user = load_file(spec)
        for name, sc in user.scenarios.items():
            cat.scenarios[name] = sc
        for name, prop in user.properties.items():
            cat.properties[name] = prop
        return list(user.variants.values())
    raise UserError(
        f"unknown variant '{spec}' (shipped: {', '.join(cat.variants)}; or give the path of a .py file)"
    )


def pick(kind: str, names: list[str] | None, known: dict[str, object]) -> list[str]:
    """Validate user-given names of ``kind``; all known names when ``names`` is empty."""
    if not names:
        return list(known)
    out = []
    for name in names:
        if name not in known:
            raise UserError(f"unknown {kind} '{name}' (known: {', '.join(known)})")
        if name not in out:
            out.append(name)
    return out
