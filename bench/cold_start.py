"""Cold start, measured on the deployed package: the Lambda zip built as ``make synth`` builds it
(``infra.package.build_package``: ``chalice package``, the catalogs, the bytecode, the Twilio
webhooks' function), unpacked, and each function's handler module imported the way Lambda does:
a fresh ``python -I -S -B`` (no site-packages, nothing written) with only the package on its path
and Lambda's environment variables (``LAMBDA_TASK_ROOT`` and the function's own settings).

Figure: the CPU time (``time.process_time``) of the import statement, as a ratio to importing the
bare libraries every Chalice + Twilio voice app needs (``chalice``, ``boto3``,
``twilio.twiml.voice_response``) from the same package, bytecode-cached too; all variants run in
alternating fresh interpreters. Interpreter start-up is the same for all and left out. Variants:
tracing on (as deployed: Powertools' Tracer loads the X-Ray SDK), tracing off
(``POWERTOOLS_TRACE_DISABLED=1``: the cost of X-Ray), and ``import app`` from the package without
its bytecode (what every cold start paid before the package carried it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from bench.stats import Summary, markdown_table, ratio

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ("chalice", "boto3", "twilio.twiml.voice_response")
TARGET_RATIO = 1.3
# Loaded only by the code paths that need them (REST calls, e-mail reports, charts, infra, tests);
# the Twilio webhooks' function starts without pydantic too (settings load on first use).
HEAVY_MODULES = ("twilio.rest", "jinja2", "matplotlib", "PIL", "aws_cdk", "moto")
WEBHOOK_HEAVY_MODULES = (*HEAVY_MODULES, "pydantic")
STDLIB = "(standard library)"
FUNCTIONS = {  # handler module -> the functions it serves
    "app": "every route but Twilio's, the streams and schedules",
    "chalicelib.twilio_webhooks": "the Twilio webhooks",
}
# What a first webhook loads and builds on top of the import (lazy wiring moves it there): the
# settings and shop models (pydantic), the DynamoDB models and their one botocore client; no
# network. Against the baseline plus its own DynamoDB client, the same work a bare app does.
FIRST_USE = (
    "from chalicelib import wiring\n"
    "wiring.settings()\n"
    "from chalicelib.adapters.dynamo.schema import ShopItem\n"
    "from chalicelib.domain.shop import ShopSettings\n"
    "ShopItem._get_connection().connection.client\n"
)
# The API function's routes load their blueprint's module on first use too (#19): its first
# order POST loads the shop API's module (pydantic's order models with it) and the same.
APP_FIRST_USE = "import chalicelib.web.orders_api\n" + FIRST_USE
BASELINE_FIRST_USE = "import boto3\nboto3.client('dynamodb')\n"
NO_BYTECODE_RUNS = 3  # the package without .pyc: only for context, slow (it compiles every run)
STAGE_CONFIG: dict[str, Any] = {
    "manage_iam_role": False,
    "iam_role_arn": "arn:aws:iam::000000000000:role/bench",
    "autogen_policy": False,
    "xray": True,
    "log_retention_in_days": 30,
    "environment_variables": {
        "TABLE_PREFIX": "callcenter-",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN_PARAM": "/callcenter/twilio-auth-token",
        "RECORDING_LINK_SECRET_PARAM": "/callcenter/recording-link-secret",
        "POWERTOOLS_SERVICE_NAME": "callcenter",
        "POWERTOOLS_METRICS_NAMESPACE": "CallCenter",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "CRM_SECRET_PARAM_PREFIX": "/callcenter/crm/",
    },
}

_CHILD = """
import importlib, json, os, sys, time
THEN = os.environ.pop("BENCH_THEN", "")
task = sys.argv[1]
sys.path[:0] = [task]
before = set(sys.modules)
start = time.process_time()
for name in sys.argv[2:]:
    importlib.import_module(name)
exec(THEN)
cpu = time.process_time() - start
added = sorted(set(sys.modules) - before)
files = [getattr(sys.modules[m], "__file__", None) or "" for m in added]
print(json.dumps({"cpu_seconds": cpu, "added": added, "package_files": [f for f in files if f.startswith(task)]}))
"""


def build(workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Build the package as synth does; unpack it; returns the task folder and the template."""
    from infra.app import prepare_environment
    from infra.package import build_package

    saved = dict(os.environ)
    try:
        prepare_environment(STAGE_CONFIG["environment_variables"]["TABLE_PREFIX"])  # as make synth
        deployment_zip, template = build_package(workdir / "package", STAGE_CONFIG)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    task = workdir / "task"
    with zipfile.ZipFile(deployment_zip) as package:
        package.extractall(task)
        # the same package without its bytecode: what a cold start paid before
        names = [name for name in package.namelist() if not name.endswith(".pyc")]
        package.extractall(workdir / "task-no-bytecode", members=names)
    return task, template


def environment(task: Path, template: dict[str, Any], handler_module: str, *, tracing: bool) -> dict[str, str]:
    from infra.package import lambda_environment

    (function,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        and resource["Properties"]["Handler"] == f"{handler_module}.app"
    ]
    variables = {key: value for key, value in function["Environment"]["Variables"].items() if isinstance(value, str)}
    env = {**lambda_environment(task), **variables, "PUBLIC_BASE_URL": "https://calls.example.com/api"}
    env["_HANDLER"] = function["Handler"]
    if not tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "1"
    return env


def import_once(task: Path, modules: tuple[str, ...], env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _CHILD, str(task), *modules],
        cwd=task,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {modules} failed in a fresh interpreter:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def loaded(modules: list[str], name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in modules)


def top_level_packages(added: list[str]) -> dict[str, int]:
    """Modules an import added, counted by top-level package; the standard library as one entry."""
    roots = Counter(module.partition(".")[0] for module in added)
    stdlib = sum(count for root, count in roots.items() if _is_stdlib(root))
    packages = {root: count for root, count in roots.items() if not _is_stdlib(root)}
    if stdlib:
        packages[STDLIB] = stdlib
    return dict(sorted(packages.items()))


def _is_stdlib(root: str) -> bool:
    return root in sys.stdlib_module_names or root.startswith("_sysconfigdata")


def _without_bytecode(task: Path, files: list[str]) -> list[str]:
    """Package files an import loaded that have no .pyc in the package (compiled on every start)."""
    from infra.package import pyc_name

    missing = []
    for path in files:
        if not path.endswith(".py"):  # extension modules: nothing to compile
            continue
        relative = Path(path).relative_to(task).as_posix()
        if not (task / pyc_name(relative, sys.implementation.cache_tag)).exists():
            missing.append(relative)
    return missing


def run(runs: int = 15, progress: TextIO | None = None) -> dict[str, Any]:
    out = progress or sys.stderr
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as tmp:
        print("cold_start: building the Lambda package as make synth does", file=out, flush=True)
        task, template = build(Path(tmp))
        bare = Path(tmp) / "task-no-bytecode"
        variants: dict[str, tuple[Path, tuple[str, ...], dict[str, str]]] = {
            "baseline": (task, BASELINE, environment(task, template, "app", tracing=True)),
        }
        for module in FUNCTIONS:
            variants[module] = (task, (module,), environment(task, template, module, tracing=True))
            variants[f"{module} (tracing off)"] = (task, (module,), environment(task, template, module, tracing=False))
        webhooks = "chalicelib.twilio_webhooks"
        baseline_then = {**variants["baseline"][2], "BENCH_THEN": BASELINE_FIRST_USE}
        variants["first use: baseline"] = (task, BASELINE, baseline_then)
        variants[f"first use: {webhooks}"] = (task, (webhooks,), {**variants[webhooks][2], "BENCH_THEN": FIRST_USE})
        variants["first use: app"] = (task, ("app",), {**variants["app"][2], "BENCH_THEN": APP_FIRST_USE})
        no_bytecode = ("app (no bytecode)", (bare, ("app",), environment(bare, template, "app", tracing=True)))
        first = {name: import_once(*variant) for name, variant in variants.items()}  # warms the page cache
        samples: dict[str, list[float]] = {name: [] for name in [*variants, no_bytecode[0]]}
        print(f"cold_start: {runs} alternating runs of {len(variants)} imports", file=out, flush=True)
        order = list(variants.items())
        for index in range(runs):
            round_order = order if index % 2 == 0 else order[::-1]
            if index < NO_BYTECODE_RUNS:
                round_order = [*round_order, no_bytecode]
            for name, variant in round_order:
                samples[name].append(import_once(*variant)["cpu_seconds"])
        uncached = {name: _without_bytecode(task, result["package_files"]) for name, result in first.items()}
    return _document(runs, first, samples, uncached)


def _document(
    runs: int, first: dict[str, dict[str, Any]], samples: dict[str, list[float]], uncached: dict[str, list[str]]
) -> dict[str, Any]:
    medians = {name: Summary.of(values).median for name, values in samples.items()}
    base = medians["baseline"]
    functions: dict[str, dict[str, Any]] = {}
    for module, serves in FUNCTIONS.items():
        added = first[module]["added"]
        heavy = WEBHOOK_HEAVY_MODULES if module == "chalicelib.twilio_webhooks" else HEAVY_MODULES
        functions[module] = {
            "serves": serves,
            "cpu_vs_baseline": ratio(medians[module], base),
            "cpu_vs_baseline_tracing_off": ratio(medians[f"{module} (tracing off)"], base),
            "xray_share_of_import": ratio(medians[module] - medians[f"{module} (tracing off)"], medians[module]),
            "modules_added": len(added),
            "heavy_modules_checked": list(heavy),
            "heavy_modules_loaded": [name for name in heavy if loaded(added, name)],
            "packages_loaded": top_level_packages(added),
            "package_files_without_bytecode": uncached[module],
            "median_cpu_ms": round(medians[module] * 1000, 1),
        }
    worst = max(ratio(medians[module], base) for module in FUNCTIONS)
    return {
        "benchmark": "cold_start",
        "what": "CPU time of each Lambda function's handler import in fresh `python -I -S -B` interpreters on the "
        "package as make synth builds it, with Lambda's environment, against importing chalice, boto3 and "
        "twilio.twiml.voice_response from the same package; runs alternating",
        "runs": runs,
        "baseline_import": ", ".join(BASELINE),
        "baseline_modules_added": len(first["baseline"]["added"]),
        "baseline_package_files_without_bytecode": uncached["baseline"],
        "functions": functions,
        "cold_import_ratio": worst,
        "target_cold_import_ratio": TARGET_RATIO,
        "target_met": worst <= TARGET_RATIO,
        "app_without_bytecode_vs_baseline": ratio(medians["app (no bytecode)"], base),
        "webhooks_first_use_vs_baseline_first_use": ratio(
            medians["first use: chalicelib.twilio_webhooks"], medians["first use: baseline"]
        ),
        "app_first_use_vs_baseline_first_use": ratio(medians["first use: app"], medians["first use: baseline"]),
        "first_use_work": "import, then settings, shop model, DynamoDB models and client (webhooks; app: and "
        "the shop API's module, as a first order POST); "
        "import, then a boto3 DynamoDB client (baseline)",
        "app_without_bytecode_runs": len(samples["app (no bytecode)"]),
        "heavy_modules_absent": not any(entry["heavy_modules_loaded"] for entry in functions.values()),
        "context_only_ms": {"baseline_median_cpu": round(base * 1000, 1)},
    }


def render(document: dict[str, Any]) -> str:
    baseline = f"`{document['baseline_import']}` (baseline)"
    rows: list[list[Any]] = [[baseline, 1.0, "", document["baseline_modules_added"]]]
    for module, entry in document["functions"].items():
        rows.append(
            [
                f"`import {module}` ({entry['serves']})",
                entry["cpu_vs_baseline"],
                entry["cpu_vs_baseline_tracing_off"],
                entry["modules_added"],
            ]
        )
    rows.append(["`import app`, package without bytecode", document["app_without_bytecode_vs_baseline"], "", ""])
    rows.append(
        [
            "webhooks: import + first use (settings, shop model, DynamoDB client) × baseline + a DynamoDB client",
            document["webhooks_first_use_vs_baseline_first_use"],
            "",
            "",
        ]
    )
    rows.append(
        [
            "app: import + first order POST's modules (the shop API's, settings, DynamoDB client) × the same",
            document["app_first_use_vs_baseline_first_use"],
            "",
            "",
        ]
    )
    table = markdown_table(["Import (CPU, fresh interpreter)", "× baseline", "× baseline, X-Ray off", "modules"], rows)
    problems = [
        f"`{module}` loads {', '.join(entry['heavy_modules_loaded'])}"
        for module, entry in document["functions"].items()
        if entry["heavy_modules_loaded"]
    ]
    verdict = "PASS: no function's import loads a heavy module." if not problems else "FAIL: " + "; ".join(problems)
    met = "met" if document["target_met"] else "not met"
    return (
        f"### Cold start on the deployed package ({document['runs']} fresh interpreters each, alternating)\n\n"
        f"{table}\n\nWorst function: {document['cold_import_ratio']} × baseline (target ≤ "
        f"{document['target_cold_import_ratio']}: {met}). {verdict}\n\n"
        f"Baseline {document['context_only_ms']['baseline_median_cpu']} ms CPU on this machine (context only)."
    )
