"""The layers of lib: every module imports only modules of a lower rank.

:data:`RANKS` holds the rank of every module of ``lib`` (the README's module
table shows them). Each module is parsed with :mod:`ast` and every import of
a module of ``lib`` found (at the top or inside a function or class;
``from . import x``, ``from .x import y``, ``import lib.x``,
``from lib.x import y``, ``from lib import x``) must point to a lower rank:
an import that points up or sideways (the same rank) fails, unless
:data:`ALLOWED` lists it with its reason. A name imported from the package
itself (``from . import Model``) counts as an import of ``lib/__init__.py``,
the top of the house; only :data:`PACKAGE_NAMES` may be taken from there.

Imports inside functions are held to a list too (:data:`FUNCTION_LEVEL`):
with the layers in order none is needed to break a cycle, so each one left
says why it waits (start-up time, or a compatibility name).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "lib"

RANKS = {
    # 0 foundations: no import of lib
    "units": 0, "records": 0, "stats": 0, "inputs": 0, "files": 0, "fastmath": 0, "tableaus": 0,
    # 1 the model and the result store
    "model": 1, "cache": 1,
    # 2 what the methods share: where work runs, the compiled right-hand side, the experiments' draws,
    #   the static barriers, the Arrhenius fits, the coupled-channel solver
    "parallel": 2, "kernels": 2, "experiments": 2, "barriers": 2, "arrhenius": 2, "scattering": 2,
    # 3 the integrator
    "integrate": 3,
    # 4 the engines: Monte Carlo ensembles, phase-space maps, transmitting sets, the exact quantum model
    "ensemble": 4, "phase_space": 4, "transmitting": 4, "quantum": 4,
    # 5 the quadrature over the transmitting set
    "quadrature": 5,
    # 6 the front door: P and E_a by any method
    "transmission": 6,
    # 7 what is built on the methods: sweeps, validation studies, figures, the kernels' warm-up
    "sweeps": 7, "validation": 7, "plotting": 7, "warmup": 7,
    # 8 the book's reproduction, schematics and explorers
    "reproduce": 8, "schematics": 8, "widgets": 8,
    # 9 the command line
    "cli": 9,
    # 10 the package and ``python -m lib``
    "__init__": 10, "__main__": 10,
}
"""Rank of every module of lib (file stem); a module may import only modules of lower rank."""

ALLOWED: dict = {}
"""Imports that point up or sideways, each with its reason: ``(importer, imported)``."""

PACKAGE_NAMES = {
    "__version__": "defined first in lib/__init__.py, before any module is imported, for the modules that "
                   "record it in their outputs (sweeps, reproduce)",
}
"""Names a module may import from the package itself (``from . import name``), each with its reason."""

FUNCTION_LEVEL = {
    ("cli", "plotting"): "start-up time: plotting loads matplotlib, needed only when phase-space writes a figure",
}
"""Imports of lib inside functions, each with its reason; with the layers in order none breaks a cycle."""


def lib_modules() -> set[str]:
    return {p.stem for p in LIB.glob("*.py")}


def lib_imports(source: str, modules: set[str]) -> list[tuple[str, int, bool, str | None]]:
    """Every import of a module of lib in ``source``: ``(module, line, inside a function or class, name)``.

    ``module`` is a file stem of lib, ``"__init__"`` for a name taken from
    the package itself (``name`` is then that name), or ``"?"`` for a
    relative import that leaves the package (``from .. import x``).
    """
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    nodes = []

    def visit(node, inner):  # module-level if/try/with count as the top; functions and classes do not
        for child in ast.iter_child_nodes(node):
            nodes.append((child, inner))
            visit(child, inner or isinstance(child, scopes))

    visit(ast.parse(source), False)
    out = []
    for node, inner in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "lib":
                    out.append((parts[1] if len(parts) > 1 else "__init__", node.lineno, inner, None))
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                out.append(("?", node.lineno, inner, None))
                continue
            if node.level == 1:
                path = node.module
            elif node.module == "lib" or (node.module or "").startswith("lib."):
                path = node.module[4:] or None
            else:
                continue
            if path:
                out.append((path.split(".")[0], node.lineno, inner, None))
            else:  # from . import a, b: modules of lib, or names of the package
                for alias in node.names:
                    if alias.name in modules:
                        out.append((alias.name, node.lineno, inner, None))
                    else:
                        out.append(("__init__", node.lineno, inner, alias.name))
    return out


def violations(name: str, source: str, ranks: dict = RANKS, modules: set[str] | None = None) -> list[str]:
    """What is wrong with the imports of module ``name`` (``source``): one line each."""
    modules = lib_modules() if modules is None else modules
    if name not in ranks:
        return [f"lib/{name}.py is not in the table of ranks (tests/test_layers.py RANKS)"]
    found = []
    for target, line, inner, imported in lib_imports(source, modules):
        where = f"lib/{name}.py:{line}"
        if target == name:
            continue  # the package naming itself (lib/__init__.py: import lib)
        if target == "__init__" and imported is not None and imported in PACKAGE_NAMES:
            continue
        if target != "__init__" and target not in ranks:
            found.append(f"{where} imports lib.{target}, which is not in the table of ranks")
            continue
        if target != "__init__" and target not in modules:
            found.append(f"{where} imports lib.{target}, which does not exist")
            continue
        if (name, target) in ALLOWED:
            pass
        elif target == "?" or ranks[target] >= ranks[name]:
            what = "sideways" if target != "?" and ranks[target] == ranks[name] else "up"
            shown = f"lib.{target}" if imported is None else f"{imported!r} from the package lib"
            found.append(f"{where} imports {shown} (rank {ranks.get(target, '?')}), which points {what} "
                         f"from rank {ranks[name]}")
            continue
        if inner and (name, target) not in FUNCTION_LEVEL:
            found.append(f"{where} imports lib.{target} inside a function: import it at the top, or list it in "
                         "FUNCTION_LEVEL with the reason")
    return found


def _source(name: str) -> str:
    return (LIB / f"{name}.py").read_text(encoding="utf-8")


def test_every_module_has_a_rank_and_every_rank_a_module():
    modules = lib_modules()
    assert sorted(modules - set(RANKS)) == []
    assert sorted(set(RANKS) - modules) == []


@pytest.mark.parametrize("name", sorted(RANKS))
def test_imports_point_down(name):
    assert violations(name, _source(name)) == []


def test_the_exceptions_are_used():
    """Every allowed exception and function-level import is still made (no stale entries)."""
    modules = lib_modules()
    made = {(name, t) for name in modules for t, *_ in lib_imports(_source(name), modules)}
    inner = {(name, t) for name in modules for t, _, nested, _ in lib_imports(_source(name), modules) if nested}
    assert sorted(set(ALLOWED) - made) == []
    assert sorted(set(FUNCTION_LEVEL) - inner) == []


def test_the_checker_finds_an_upward_import():
    """An import added at the top, inside a function, sideways, or from the package, is reported."""
    source = _source("model")
    assert violations("model", source) == []
    up = violations("model", source + "\nfrom .ensemble import Transmission\n")
    assert len(up) == 1 and "lib.ensemble (rank 4), which points up from rank 1" in up[0]
    inner = violations("model", source + "\n\ndef f():\n    import lib.quadrature\n    return lib.quadrature\n")
    assert len(inner) == 1 and "lib.quadrature" in inner[0] and "points up" in inner[0]
    sideways = violations("ensemble", _source("ensemble") + "\nfrom . import transmitting\n")
    assert len(sideways) == 1 and "points sideways" in sideways[0]
    package = violations("quadrature", _source("quadrature") + "\nfrom lib import Model\n")
    assert len(package) == 1 and "'Model' from the package lib" in package[0]
    also = violations("inputs", "try:\n    from lib.cli import main\nexcept ImportError:\n    pass\n")
    assert len(also) == 1 and "lib.cli" in also[0]


def test_the_checker_wants_a_reason_for_a_function_level_import():
    source = _source("ensemble") + "\n\ndef f():\n    from .model import Model\n    return Model\n"
    found = violations("ensemble", source)
    assert len(found) == 1 and "inside a function" in found[0]


def test_the_checker_wants_every_module_in_the_table():
    assert violations("newmodule", "import numpy\n") == [
        "lib/newmodule.py is not in the table of ranks (tests/test_layers.py RANKS)"]
    found = violations("cli", _source("cli") + "\nfrom .newmodule import thing\n")
    assert len(found) == 1 and "not in the table of ranks" in found[0]


def test_readme_shows_the_ranks():
    """The README's module table gives each module its rank, as here."""
    readme = (LIB.parent / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[1].isdigit():
            rows[cells[0].strip("`").removeprefix("lib/").removesuffix(".py")] = int(cells[1])
    assert rows == RANKS
