"""The import rules of the tree (issue 7), read from the source with ``ast``: no unit of the core imports
a sibling unit, no module imports a private name of another, and no modules import each other in a
cycle.  Imports under ``if TYPE_CHECKING:`` are for annotations only and do not count."""

import ast
import pathlib


ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("hw", "sw", "sim")
UNITS = ("fetch", "load", "compute", "store")

def _modules():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def _is_type_checking(node) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(name: str, path: pathlib.Path):
    """(imported module, imported names) of every runtime import in the file, relative ones resolved."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    out = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                out.extend((a.name, ()) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = here[:len(here) - child.level + 1] if child.level else []
                mod = ".".join(base + ([child.module] if child.module else []))
                out.append((mod, tuple(a.name for a in child.names)))
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return out


MODULES = dict(_modules())
IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _targets(name):
    """The tree's modules ``name`` imports (``from pkg import mod`` counts as importing ``pkg.mod``)."""
    for mod, names in IMPORTS[name]:
        for n in names:
            if f"{mod}.{n}" in MODULES:
                yield f"{mod}.{n}"
        if mod in MODULES:
            yield mod


def test_the_tree_is_found():
    assert {"hw.top", "hw.isa", "hw.config", "sw.schedule", "sim.host"} <= set(MODULES)


def test_no_unit_imports_a_sibling_unit():
    bad = []
    for name in MODULES:
        parts = name.split(".")
        if parts[0] == "hw" and len(parts) > 1 and parts[1] in UNITS:
            for t in _targets(name):
                tp = t.split(".")
                if len(tp) > 1 and tp[0] == "hw" and tp[1] in UNITS and tp[1] != parts[1]:
                    bad.append(f"{name} imports {t}")
    assert not bad, bad


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _private_imports(name):
    """The private things ``name`` imports, as dotted names (``from a import _b`` is ``a._b``)."""
    for mod, names in IMPORTS[name]:
        for full in [f"{mod}.{n}" for n in names] or [mod]:
            if any(_private(p) for p in full.split(".")):
                yield full


def test_no_module_imports_a_private_name():
    bad = [f"{name} imports {full}" for name in MODULES for full in _private_imports(name)]
    assert not bad, bad


def test_no_import_cycles():
    graph = {name: set(_targets(name)) - {name} for name in MODULES}
    # A package's __init__ importing its own submodules is how packages export; only count the
    # submodules importing the package back as a cycle when they do so by name.
    cycles, state = [], {}

    def dfs(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue        # a package and its own submodules
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                dfs(nxt, stack)
        stack.pop()
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            dfs(n, [])
    assert not cycles, [" -> ".join(c) for c in cycles]
