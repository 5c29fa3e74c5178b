"""app.py is shipped to Lambda with chalicelib: it registers handlers and never imports the local
tooling (import-linter's contracts in `make lint` cover the chalicelib package; app.py is a module,
which import-linter cannot take as a root)."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


def imported_modules(source: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_app_imports_no_local_tooling() -> None:
    offending = {m for m in imported_modules(APP.read_text()) if m.split(".")[0] in {"devtools", "tests", "bench"}}
    assert offending == set()


def test_the_check_sees_an_import_of_the_tooling_anywhere_in_the_module() -> None:
    source = "def handler():\n    from devtools.stack import LocalStack\n    return LocalStack\n"
    assert "devtools.stack" in imported_modules(source)
