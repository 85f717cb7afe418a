"""tui.config imports only yaml, the standard library and itself (it must not reach into tui.commands:
the caller passes the command registry in)."""

import ast
import sys
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[3] / "tui" / "config"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_config_imports_only_yaml_stdlib_and_itself():
    files = sorted(CONFIG_DIR.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            allowed = top in sys.stdlib_module_names or top == "yaml" or module.startswith("tui.config")
            assert allowed, f"{path.name} imports {module}"
