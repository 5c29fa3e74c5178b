"""Write ``chalicelib/web/routes.py``, the table of every HTTP route of ``chalicelib/web``'s
blueprints that ``app.py`` registers without importing them (issue #19: the API function's cold
start): ``python -m devtools.route_table``. ``tests/unit/test_route_table.py`` fails when the
table and the blueprints differ."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from chalice import Blueprint

from chalicelib import web
from chalicelib.web.apps import App

TABLE = Path(web.__file__).with_name("routes.py")
HEADER = '''"""Every HTTP route of ``chalicelib/web``'s blueprints: (method, path, ``module.view function``,
content type), and each module's blueprint. Written by ``python -m devtools.route_table`` from the
blueprints themselves (``tests/unit/test_route_table.py`` checks it is current): ``app.py``
registers these routes and imports a blueprint's module with the first request to one of them."""

JSON, FORM = "application/json", "application/x-www-form-urlencoded"
'''
CONTENT_TYPES = {"application/json": "JSON", "application/x-www-form-urlencoded": "FORM"}


def blueprints() -> list[tuple[str, str, Blueprint]]:
    """(module, attribute, blueprint) of each module of ``chalicelib/web`` defining one, by name."""
    found = []
    for info in sorted(pkgutil.iter_modules(web.__path__), key=lambda module: module.name):
        module = importlib.import_module(f"{web.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Blueprint) and value._import_name == module.__name__:
                found.append((module.__name__, name, value))
    return found


def blueprint_module_names() -> list[str]:
    return [module.rpartition(".")[2] for module, _, _ in blueprints()]


def routes() -> list[tuple[str, str, str, str]]:
    """(method, path, module.view, content type) of every route, by path and method."""
    table = []
    for module, _, blueprint in blueprints():
        app = App(app_name="route-table")
        app.register_blueprint(blueprint)
        for path, methods in app.routes.items():
            for method, entry in methods.items():
                if entry.authorizer is not None or entry.api_key_required or entry.cors:
                    raise ValueError(f"{module} {path}: the table has no place for authorizer, API key or CORS")
                function = entry.view_function
                if getattr(importlib.import_module(module), function.__name__, None) is not function:
                    raise ValueError(f"{module}.{function.__name__} is not the view of {method} {path}")
                (content_type,) = entry.content_types
                short = module.rpartition(".")[2]
                table.append((method, path, f"{short}.{function.__name__}", CONTENT_TYPES[content_type]))
    return sorted(table, key=lambda route: (route[1], route[0]))


def render() -> str:
    names = "".join(f'    "{module.rpartition(".")[2]}": "{name}",\n' for module, name, _ in blueprints())
    lines = "".join(f'    ("{method}", "{path}", "{view}", {kind}),\n' for method, path, view, kind in routes())
    return f"{HEADER}BLUEPRINTS = {{\n{names}}}\n\nROUTES: tuple[tuple[str, str, str, str], ...] = (\n{lines})\n"


def main() -> None:
    TABLE.write_text(render())
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
