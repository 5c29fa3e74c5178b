"""Cold start: how long ``import app`` takes in a fresh interpreter, against importing the bare
libraries every Chalice + Twilio voice app needs (``chalice``, ``boto3``,
``twilio.twiml.voice_response``); and which heavy modules ``import app`` must not load.

Each run is a new ``python -c`` process timing only the import statement (interpreter start-up
is the same for both and would dilute the ratio). App and baseline runs alternate. Bytecode is
cached for both alike in a private ``PYTHONPYCACHEPREFIX`` (primed by one untimed run each), so
the figure is about the code imported, not about compiling it, and nothing is written into the
source tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from bench.stats import Summary, markdown_table, ratio

ROOT = Path(__file__).resolve().parent.parent
APP_IMPORT = "import app"
BASELINE_IMPORT = "import chalice, boto3, twilio.twiml.voice_response"
# Each is loaded only by the code path that needs it (REST calls, e-mail reports, charts, infra,
# tests), never by a webhook's cold start.
HEAVY_MODULES = ("twilio.rest", "jinja2", "matplotlib", "PIL", "aws_cdk", "moto")
STDLIB = "(standard library)"
TARGET_RATIO = 1.3

_CHILD = """
import sys, time
before = set(sys.modules)
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
after = sorted(sys.modules)
import json
print(json.dumps({{"seconds": elapsed, "before": sorted(before), "after": after}}))
"""


def _child_env(pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "PYTHONDONTWRITEBYTECODE"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def import_once(statement: str, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD.format(statement=statement)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{statement!r} failed in a fresh interpreter:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def loaded(modules: list[str], name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in modules)


def top_level_packages(modules: list[str], before: list[str]) -> dict[str, int]:
    """Modules an import added, counted by top-level package; the standard library as one entry."""
    added = set(modules) - set(before)
    roots = Counter(module.partition(".")[0] for module in added)
    stdlib = sum(count for root, count in roots.items() if _is_stdlib(root))
    packages = {root: count for root, count in roots.items() if not _is_stdlib(root)}
    if stdlib:
        packages[STDLIB] = stdlib
    return dict(sorted(packages.items()))


def _is_stdlib(root: str) -> bool:
    return root in sys.stdlib_module_names or root.startswith("_sysconfigdata")


def run(runs: int = 15, progress: TextIO | None = None) -> dict[str, Any]:
    out = progress or sys.stderr
    app_seconds: list[float] = []
    base_seconds: list[float] = []
    traced_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        env = _child_env(pycache)
        # As in a deployed Lambda with X-Ray on: Powertools' Tracer is built (and the SDK loaded).
        traced_env = {**env, "LAMBDA_TASK_ROOT": str(ROOT)}
        app_run = import_once(APP_IMPORT, env)  # primes the bytecode caches; not timed
        base_run = import_once(BASELINE_IMPORT, env)
        import_once(APP_IMPORT, traced_env)
        print(f"cold_start: {runs} alternating runs of each", file=out, flush=True)
        for index in range(runs):
            trio = (
                (APP_IMPORT, env, app_seconds),
                (BASELINE_IMPORT, env, base_seconds),
                (APP_IMPORT, traced_env, traced_seconds),
            )
            for statement, child_env, samples in trio if index % 2 == 0 else reversed(trio):
                samples.append(import_once(statement, child_env)["seconds"])
    app_summary, base_summary = Summary.of(app_seconds), Summary.of(base_seconds)
    present = [name for name in HEAVY_MODULES if loaded(app_run["after"], name)]
    app_added = set(app_run["after"]) - set(app_run["before"])
    base_added = set(base_run["after"]) - set(base_run["before"])
    return {
        "benchmark": "cold_start",
        "what": "time of the import statement in a fresh interpreter (bytecode cached), app vs baseline, "
        "runs alternating",
        "runs": runs,
        "app_import": APP_IMPORT,
        "baseline_import": BASELINE_IMPORT,
        "median_vs_baseline": ratio(app_summary.median, base_summary.median),
        "cold_import_ratio": ratio(app_summary.median, base_summary.median),
        "target_cold_import_ratio": TARGET_RATIO,
        "median_vs_baseline_with_tracing": ratio(Summary.of(traced_seconds).median, base_summary.median),
        "modules_added": {"app": len(app_added), "baseline": len(base_added)},
        "modules_added_vs_baseline": ratio(len(app_added), len(base_added)),
        "heavy_modules_checked": list(HEAVY_MODULES),
        "heavy_modules_loaded_by_import_app": present,
        "heavy_modules_absent": not present,
        "packages_loaded_by_import_app": top_level_packages(app_run["after"], app_run["before"]),
        "context_only_ms": {
            "app_median": round(app_summary.median * 1000, 1),
            "baseline_median": round(base_summary.median * 1000, 1),
        },
    }


def render(document: dict[str, Any]) -> str:
    modules = document["modules_added"]
    table = markdown_table(
        ["Import", "median × baseline", "modules loaded", "modules × baseline"],
        [
            [f"`{document['baseline_import']}` (baseline)", 1.0, modules["baseline"], 1.0],
            [
                f"`{document['app_import']}`",
                document["median_vs_baseline"],
                modules["app"],
                document["modules_added_vs_baseline"],
            ],
            [
                f"`{document['app_import']}` with tracing on (in Lambda, X-Ray SDK loaded)",
                document["median_vs_baseline_with_tracing"],
                "",
                "",
            ],
        ],
    )
    present = document["heavy_modules_loaded_by_import_app"]
    checked = ", ".join(document["heavy_modules_checked"])
    verdict = (
        f"PASS: `import app` loads none of {checked}."
        if not present
        else f"FAIL: `import app` loads {', '.join(present)} (checked: {checked})."
    )
    packages = ", ".join(f"{name} ({count})" for name, count in document["packages_loaded_by_import_app"].items())
    context = document["context_only_ms"]
    return (
        f"### Cold start ({document['runs']} fresh interpreters each, alternating)\n\n{table}\n\n{verdict}\n\n"
        f"Packages `import app` loads (modules): {packages}.\n\n"
        f"On this machine in this run: app {context['app_median']} ms, baseline {context['baseline_median']} ms "
        "(context only: compare the ratio)."
    )
