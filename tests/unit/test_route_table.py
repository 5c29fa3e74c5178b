"""``app.py`` registers its routes from ``chalicelib/web/routes.py`` without importing the
blueprints (issue #19, cold start): the table is what the blueprints define, and the app serves
each route with the blueprint's own view on first use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devtools import route_table

ROOT = Path(__file__).resolve().parents[2]


def test_the_route_table_is_what_the_blueprints_define() -> None:
    assert route_table.TABLE.read_text() == route_table.render(), "run python -m devtools.route_table"


def test_the_app_has_every_blueprint_route_with_its_method_and_content_type() -> None:
    from app import app

    served = sorted(
        (method, path, entry.view_name, entry.content_types[0])
        for path, entries in app.routes.items()
        for method, entry in entries.items()
    )
    kinds = {name: content_type for content_type, name in route_table.CONTENT_TYPES.items()}
    defined = sorted(
        (method, path, view.partition(".")[2], kinds[kind]) for method, path, view, kind in route_table.routes()
    )
    assert served == defined


def test_import_app_loads_no_blueprint_module_nor_pydantic() -> None:
    code = "import json, sys\nimport app\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    blueprint_modules = {f"chalicelib.web.{name}" for name in route_table.blueprint_module_names()}
    assert blueprint_modules & set(loaded) == set()
    assert [m for m in loaded if m.startswith(("pydantic", "chalicelib.events", "chalicelib.services"))] == []
