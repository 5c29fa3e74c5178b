"""The Lambda package as ``make synth`` ships it, without CDK: ``chalice package``'s zip plus
what this app adds to it (``infra/chalice_app.py`` runs these on every synth; ``bench.cold_start``
runs the same to measure the package).

- the caller-facing catalogs (``twiml/``) as ``chalicelib/twiml/``;
- bytecode: Lambda's code directory is read-only, so a package without ``.pyc`` files compiles
  every module it imports on every cold start. The package gets ``__pycache__/*.pyc`` compiled by
  an interpreter of the runtime's own Python version (its cache tag, e.g. ``cpython-311``), as
  unchecked-hash pycs (PEP 552): valid whatever the files' times in the zip, never rechecked
  against the source, never rewritten. Compiled: the whole app (``app.py``, ``chalicelib/``) and
  every module of its dependencies that the app's modules import when they load (every handler's
  cold start and the imports the handlers make on first use). The rest of the dependencies (most
  of ``twilio.rest``'s API classes, phonenumbers' geocoding data, chalice's CLI tools) stay
  source only: compiled, they would take the zip over Lambda's 50 MB.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TWIML_DIR = REPO / "twiml"
PACKAGED_TWIML = "chalicelib/twiml"  # where catalog_dir() looks first inside the package
VOICE_SDK = REPO / "node_modules" / "@twilio" / "voice-sdk" / "dist" / "twilio.min.js"
PACKAGED_VOICE_SDK = "chalicelib/vendor/voice-sdk/twilio.min.js"  # chalicelib.web.page_assets.PACKAGED_SDK
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip: the file names in tracebacks
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # as Chalice's own entries: same input, same package hash

# Run by the runtime's interpreter with only the package on its path (-I -S: no site-packages;
# -B: the imports write no bytecode of their own) and Lambda's environment (Powertools' Tracer
# loads the X-Ray SDK in Lambda only). Imports every app module and every module an app module
# names in an import statement anywhere (those inside functions load on a handler's first use),
# then compiles every package file that got imported; prints the files compiled.
_COMPILE = r"""
import ast, importlib, json, pkgutil, py_compile, sys
task, root = sys.argv[1], sys.argv[2]
sys.path[:0] = [task]
import app
import chalicelib
names = set()
for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
    module = importlib.import_module(info.name)
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(node.module + "." + alias.name for alias in node.names)
for name in sorted(names):
    try:
        importlib.import_module(name)
    except Exception:  # a name imported from a module (not a module), or typing-only stubs
        pass
files = set()
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path.startswith(task + "/") and path.endswith(".py"):
        files.add(path)
for path in sorted(files):
    relative = path[len(task) + 1:]
    py_compile.compile(path, dfile=root + "/" + relative, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(json.dumps({"cache_tag": sys.implementation.cache_tag, "files": sorted(p[len(task) + 1:] for p in files)}))
"""


def add_catalogs(deployment_zip: Path, twiml_dir: Path = TWIML_DIR) -> list[str]:
    """Append every catalog file to the Lambda package; returns the paths added."""
    added = []
    with zipfile.ZipFile(deployment_zip, "a", compression=zipfile.ZIP_DEFLATED) as package:
        present = set(package.namelist())
        for path in sorted(p for p in twiml_dir.rglob("*") if p.is_file()):
            arcname = f"{PACKAGED_TWIML}/{path.relative_to(twiml_dir).as_posix()}"
            if arcname not in present:
                package.writestr(_entry(arcname), path.read_bytes())
                added.append(arcname)
    if not added:
        raise FileNotFoundError(f"no catalogs found in {twiml_dir}")
    return added


def _entry(arcname: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def runtime_version(runtime: str) -> tuple[int, int]:
    """``python3.11`` -> (3, 11)."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    if match is None:
        raise ValueError(f"not a Python Lambda runtime: {runtime!r}")
    return int(match.group(1)), int(match.group(2))


def interpreter_for(runtime: str) -> str:
    """An interpreter of the runtime's Python version: this one, or ``python3.X`` on the PATH."""
    major, minor = runtime_version(runtime)
    if sys.version_info[:2] == (major, minor):
        return sys.executable
    found = shutil.which(f"python{major}.{minor}")
    if found is None:
        raise RuntimeError(f"the Lambda runtime is {runtime}: put python{major}.{minor} on the PATH to compile for it")
    return found


def add_bytecode(deployment_zip: Path, runtime: str) -> list[str]:
    """Compile the package's imported modules for ``runtime`` and append the ``.pyc`` files;
    returns the paths added."""
    interpreter = interpreter_for(runtime)
    major, minor = runtime_version(runtime)
    drop_bytecode(deployment_zip)
    with tempfile.TemporaryDirectory(prefix="lambda-bytecode-") as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(deployment_zip) as package:
            package.extractall(task)
        done = subprocess.run(
            [interpreter, "-I", "-S", "-B", "-c", _COMPILE, str(task), LAMBDA_TASK_ROOT],
            cwd=task,
            env=lambda_environment(task),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"compiling the Lambda package for {runtime} failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        if result["cache_tag"] != f"cpython-{major}{minor}":
            raise RuntimeError(f"{interpreter} compiles for {result['cache_tag']}, the runtime is {runtime}")
        added = []
        with zipfile.ZipFile(deployment_zip, "a", compression=zipfile.ZIP_DEFLATED) as package:
            present = set(package.namelist())
            for source in result["files"]:
                cached = pyc_name(source, result["cache_tag"])
                if cached not in present:
                    package.writestr(_entry(cached), (task / cached).read_bytes())
                    added.append(cached)
    return added


def drop_bytecode(deployment_zip: Path) -> None:
    """Remove the ``.pyc`` files the package picked up from the working tree (a test or a local
    run writes timestamp-checked ones into ``chalicelib/__pycache__``), so that every one in it
    is compiled here, unchecked, for the runtime."""
    with zipfile.ZipFile(deployment_zip) as package:
        entries = package.infolist()
        kept = [entry for entry in entries if not entry.filename.endswith(".pyc")]
        if len(kept) == len(entries):
            return
        rewritten = deployment_zip.with_name(deployment_zip.name + ".tmp")
        with zipfile.ZipFile(rewritten, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for entry in kept:
                target.writestr(entry, package.read(entry))
    rewritten.replace(deployment_zip)


def lambda_environment(task: Path) -> dict[str, str]:
    """What Lambda's Python runtime sets that changes what the app imports (``LAMBDA_TASK_ROOT``
    turns Powertools' Tracer on)."""
    return {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python",
        "AWS_LAMBDA_FUNCTION_NAME": "package-compile",
        "LAMBDA_TASK_ROOT": str(task),
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/bin:/bin",
        "TZ": ":UTC",
    }


def pyc_name(source: str, cache_tag: str) -> str:
    """``chalicelib/web/http.py`` -> ``chalicelib/web/__pycache__/http.cpython-311.pyc``."""
    folder, _, name = source.rpartition("/")
    cached = f"__pycache__/{name[: -len('.py')]}.{cache_tag}.pyc"
    return f"{folder}/{cached}" if folder else cached


def add_voice_sdk(deployment_zip: Path, sdk: Path = VOICE_SDK) -> str:
    """Append the agent page's Voice SDK (npm's, as package.json locks it) to the Lambda package."""
    if not sdk.is_file():
        raise FileNotFoundError(f"{sdk} is missing: run `make setup` (npm ci) first")
    with zipfile.ZipFile(deployment_zip, "a", compression=zipfile.ZIP_DEFLATED) as package:
        if PACKAGED_VOICE_SDK not in package.namelist():
            info = zipfile.ZipInfo(PACKAGED_VOICE_SDK, date_time=(1980, 1, 1, 0, 0, 0))  # as add_catalogs
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            package.writestr(info, sdk.read_bytes())
    return PACKAGED_VOICE_SDK


def finish_package(deployment_zip: Path, runtime: str) -> None:
    """What ``chalice package`` leaves out: the catalogs and the agent page's Voice SDK, then the
    bytecode (of the catalogs' readers too)."""
    add_catalogs(deployment_zip)
    add_voice_sdk(deployment_zip)
    add_bytecode(deployment_zip, runtime)


def runtime_of(sam_template: dict[str, Any]) -> str:
    """The one Python runtime of the template's functions (Chalice: the packaging Python's)."""
    runtimes = {
        resource["Properties"]["Runtime"]
        for resource in sam_template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    if len(runtimes) != 1:
        raise ValueError(f"expected one runtime for every function, found {sorted(runtimes)}")
    return runtimes.pop()


def build_package(output_dir: Path, stage_config: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The package and SAM template as ``make synth`` makes them, without CDK (the benchmarks):
    ``chalice package`` (the same call ``chalice.cdk.Chalice`` makes), the catalogs and bytecode,
    and the Twilio webhooks' function. Returns the zip and the template."""
    from chalice.api import package_app

    from infra.twilio_function import add_twilio_function, twilio_routes

    package_app(project_dir=str(REPO), output_dir=str(output_dir), stage="bench", chalice_config=stage_config)
    deployment_zip = output_dir / "deployment.zip"
    template: dict[str, Any] = json.loads((output_dir / "sam.json").read_text())
    finish_package(deployment_zip, runtime_of(template))
    add_twilio_function(template, twilio_routes())
    return deployment_zip, template
