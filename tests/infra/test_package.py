"""The Lambda package the stack deploys: small enough, self-contained, and carrying the
caller-facing catalogs the handlers read (Chalice alone ships only app.py and chalicelib/)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.web.page_assets import PACKAGED_SDK
from infra.chalice_app import PACKAGED_TWIML, PACKAGED_VOICE_SDK, VOICE_SDK, add_catalogs, add_voice_sdk, name_functions
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
