"""The Lambda package the stack deploys: small enough, self-contained, carrying the
caller-facing catalogs the handlers read (Chalice alone ships only app.py and chalicelib/) and
the bytecode Lambda's read-only code directory needs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.web.page_assets import PACKAGED_SDK
from infra.chalice_app import PACKAGED_TWIML, PACKAGED_VOICE_SDK, VOICE_SDK, add_catalogs, add_voice_sdk, name_functions
from infra.package import drop_bytecode, lambda_environment, pyc_name, runtime_version
from tests.infra.conftest import Synthesis

pytestmark = pytest.mark.xdist_group("infra")

REPO = Path(__file__).resolve().parents[2]
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024  # Lambda's limit for a zip uploaded directly


def test_the_package_stays_under_50_mb_zipped(synthesis: Synthesis) -> None:
    package = synthesis.deployment_zip()
    assert 1024 * 1024 < package.stat().st_size < LAMBDA_ZIP_LIMIT


def test_every_runtime_requirement_is_in_the_package(synthesis: Synthesis) -> None:
    # Chalice silently leaves out a package with no wheel for Lambda's runtime (Pillow 13 needs
    # glibc 2.27; Lambda's Python 3.11 has 2.26): the function would fail at the first import.
    with zipfile.ZipFile(synthesis.deployment_zip()) as package:
        top_level = {name.split("/", 1)[0] for name in package.namelist()}
    for module in ("PIL", "pynamodb", "twilio", "phonenumbers", "jinja2", "pydantic", "aws_lambda_powertools"):
        assert module in top_level, f"{module} is missing from the Lambda package"


def test_the_package_carries_every_catalog_unchanged(synthesis: Synthesis) -> None:
    catalogs = sorted((REPO / "twiml").rglob("*.toml"))
    assert catalogs
    with zipfile.ZipFile(synthesis.deployment_zip()) as package:
        names = set(package.namelist())
        for catalog in catalogs:
            arcname = f"{PACKAGED_TWIML}/{catalog.relative_to(REPO / 'twiml').as_posix()}"
            assert arcname in names
            assert package.read(arcname) == catalog.read_bytes()
        assert "app.py" in names
        assert not any(name.startswith(("tests/", "devtools/", "infra/", "bench/")) for name in names)


def test_the_handlers_import_and_read_the_catalogs_from_the_package_alone(synthesis: Synthesis, tmp_path: Path) -> None:
    # GIVEN the package unpacked as Lambda does (/var/task)
    task = tmp_path / "task"
    with zipfile.ZipFile(synthesis.deployment_zip()) as package:
        package.extractall(task)
    languages = sorted(p.stem for p in (REPO / "twiml").glob("*.toml"))
    script = f"""
import json, sys
sys.path[:0] = [{str(task)!r}]
import app  # every handler's module, with only the package and the standard library
from chalicelib.voice.catalog import catalog_dir, load_catalog
print(json.dumps({{"dir": str(catalog_dir()), "app": app.__file__,
                  "prompts": {{lang: len(load_catalog(lang).prompts) for lang in {languages!r}}}}}))
"""
    # WHEN the interpreter runs isolated (-I) and without site-packages (-S)
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=task,
        env={"AWS_DEFAULT_REGION": "eu-central-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN the app and the catalogs come from the package, every language with its prompts
    assert found["app"] == str(task / "app.py")
    assert found["dir"] == str(task / PACKAGED_TWIML)
    assert set(found["prompts"]) == set(languages)
    assert all(count > 0 for count in found["prompts"].values())


def test_the_package_carries_the_voice_sdk_where_the_agent_page_serves_it_from(
    synthesis: Synthesis, tmp_path: Path
) -> None:
    # GIVEN the package unpacked as Lambda does: npm's SDK unchanged, where the app looks first
    assert PACKAGED_VOICE_SDK == PACKAGED_SDK
    task = tmp_path / "task"
    with zipfile.ZipFile(synthesis.deployment_zip()) as package:
        assert package.read(PACKAGED_VOICE_SDK) == VOICE_SDK.read_bytes()
        package.extractall(task)
    # WHEN the app, from the package alone (no node_modules), finds the file the page loads
    script = f"""
import sys
sys.path[:0] = [{str(task)!r}]
from chalicelib.web.page_assets import ASSETS
print(ASSETS["voice-sdk"].path())
"""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], cwd=task, capture_output=True, text=True, timeout=60, check=False
    )
    # THEN it is the packaged copy
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == str(task / PACKAGED_VOICE_SDK)


def test_add_voice_sdk_refuses_a_checkout_without_node_modules(tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "")
    with pytest.raises(FileNotFoundError, match="make setup"):
        add_voice_sdk(package, tmp_path / "node_modules" / "twilio.min.js")


def test_add_catalogs_refuses_an_empty_catalog_folder(tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "")
    (tmp_path / "twiml").mkdir()
    with pytest.raises(FileNotFoundError):
        add_catalogs(package, tmp_path / "twiml")


def test_name_functions_fixes_names_log_groups_and_the_api_integration() -> None:
    # GIVEN the shape `chalice package` writes, including its ${ApiHandler} log group slip
    sub = (
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${APIHandler.Arn}/invocations"
    )
    template = {
        "Resources": {
            "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.app"}},
            "ApiHandlerLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${ApiHandler}"}},
            },
            "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {"uri": {"Fn::Sub": sub}}}},
        }
    }
    # WHEN
    resources = name_functions(template, {"APIHandler": "Stack-APIHandler"})["Resources"]
    # THEN
    assert resources["APIHandler"]["Properties"]["FunctionName"] == "Stack-APIHandler"
    assert resources["APIHandler"]["DependsOn"] == ["ApiHandlerLogGroup"]
    assert resources["ApiHandlerLogGroup"]["Properties"]["LogGroupName"] == "/aws/lambda/Stack-APIHandler"
    uri = resources["RestAPI"]["Properties"]["DefinitionBody"]["uri"]["Fn::Sub"]
    assert "${APIHandler.Arn}" not in uri
    assert uri.endswith(":${AWS::AccountId}:function:Stack-APIHandler/invocations")


# Run with only the unpacked package on the path, as Lambda does: imports each function's handler
# module and prints every package file the imports loaded.
_IMPORT_HANDLERS = """
import importlib, json, sys
task = sys.argv[1]
sys.path[:0] = [task]
for name in sys.argv[2:]:
    importlib.import_module(name)
files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
print(json.dumps(sorted(f[len(task) + 1:] for f in files if f.startswith(task + "/") and f.endswith(".py"))))
"""


def test_the_package_holds_runtime_bytecode_for_every_module_a_cold_start_imports(
    synthesis: Synthesis, tmp_path: Path
) -> None:
    # GIVEN the package unpacked, the functions' runtime and their handler modules
    functions = synthesis.of_type("AWS::Serverless::Function").values()
    (runtime,) = {function["Properties"]["Runtime"] for function in functions}
    major, minor = runtime_version(runtime)
    assert sys.version_info[:2] == (major, minor), f"these checks run on the runtime's Python ({runtime})"
    cache_tag = f"cpython-{major}{minor}"
    modules = sorted({function["Properties"]["Handler"].rpartition(".")[0] for function in functions})
    task = tmp_path / "task"
    with zipfile.ZipFile(synthesis.deployment_zip()) as package:
        package.extractall(task)
        names = set(package.namelist())
        # WHEN every handler module is imported in a fresh interpreter with Lambda's environment
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", _IMPORT_HANDLERS, str(task), *modules],
            cwd=task,
            env=lambda_environment(task),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        imported = json.loads(result.stdout.strip().splitlines()[-1])
        # THEN each file it loaded from the package (the app's and its dependencies', the X-Ray
        # SDK included) has its .pyc for the runtime's cache tag, an unchecked-hash pyc (flags 1:
        # valid whatever the files' times, never checked against the source or rewritten)
        assert "app.py" in imported and any(name.startswith("botocore/") for name in imported)
        assert any(name.startswith("aws_xray_sdk/") for name in imported)  # Tracer on, as in Lambda
        missing = [source for source in imported if pyc_name(source, cache_tag) not in names]
        assert missing == []
        for source in imported:
            header = package.read(pyc_name(source, cache_tag))[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(header[4:8], "little") == 1, source
    # AND every module of the app itself is compiled, whether a cold start loads it or not
    app_sources = [name for name in names if name.endswith(".py") and name.startswith(("app.py", "chalicelib/"))]
    assert app_sources
    assert [source for source in app_sources if pyc_name(source, cache_tag) not in names] == []


def test_runtime_versions_are_read_from_the_runtime_name() -> None:
    assert runtime_version("python3.11") == (3, 11)
    assert runtime_version("python3.13") == (3, 13)
    with pytest.raises(ValueError):
        runtime_version("nodejs20.x")
    assert pyc_name("app.py", "cpython-311") == "__pycache__/app.cpython-311.pyc"
    assert pyc_name("chalicelib/web/http.py", "cpython-311") == "chalicelib/web/__pycache__/http.cpython-311.pyc"


def test_bytecode_from_the_working_tree_is_dropped_before_the_runtime_s_is_added(tmp_path: Path) -> None:
    # GIVEN a package that picked up a timestamp-checked .pyc from a local run's __pycache__
    deployment_zip = tmp_path / "deployment.zip"
    with zipfile.ZipFile(deployment_zip, "w") as package:
        package.writestr("app.py", "import chalicelib\n")
        package.writestr("chalicelib/__init__.py", "")
        package.writestr("chalicelib/__pycache__/__init__.cpython-311.pyc", b"stale")
    # WHEN the package is cleared for the runtime's bytecode
    drop_bytecode(deployment_zip)
    # THEN the sources stay, byte for byte, and no .pyc is left to shadow the compiled ones
    with zipfile.ZipFile(deployment_zip) as package:
        assert sorted(package.namelist()) == ["app.py", "chalicelib/__init__.py"]
        assert package.read("app.py") == b"import chalicelib\n"
