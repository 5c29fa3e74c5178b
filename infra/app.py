"""CDK entry point: ``python -m infra.app [-c key=value ...]`` (what ``make synth`` runs) writes
the cloud assembly to ``cdk.out/``; the CDK CLI runs the same through ``infra/cdk.json``.

Synthesis is offline: it packages the Chalice app (``chalice package``, wheels from PyPI) and
writes templates; no AWS call is made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STACK_NAME = "CallCenter"
DEPLOY_REQUIRED = ("twilio_account_sid", "ses_identities")


# jsii runs on the machine's Node (20 here); its end-of-life banner would drown the synth
# output. Set before aws_cdk is first imported, which starts the Node process.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")


def prepare_environment(table_prefix: str) -> None:
    # `chalice package` builds a botocore client for the region; any region gives the same
    # (region-agnostic) template, so an offline machine without AWS config can synthesise.
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = "eu-central-1"
    # The models name their tables from TABLE_PREFIX when first imported.
    os.environ["TABLE_PREFIX"] = table_prefix


def build(context: dict[str, Any] | None = None, outdir: str | None = None) -> Any:
    """Build the app with its one stack; returns ``(app, stack)`` unsynthesised."""
    import aws_cdk as cdk

    app = cdk.App(context=context or {}, outdir=outdir, analytics_reporting=False)
    prepare_environment(str(app.node.try_get_context("table_prefix") or "callcenter-"))
    from infra.stack import CallCenterStack, DeploySettings

    settings = DeploySettings.from_context(app.node)
    stack = CallCenterStack(
        app,
        str(app.node.try_get_context("stack_name") or STACK_NAME),
        settings=settings,
        description="Serverless call center for online shops (Chalice, DynamoDB Streams, SES, Twilio)",
    )
    return app, stack


def _parse_context(pairs: list[str]) -> dict[str, str]:
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"-c expects key=value, got {pair!r}")
        context[key.strip()] = value.strip()
    return context


def _cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((REPO / "infra" / "cdk.json").read_text()).get("context", {})
    return context


def _check_deployable(context: dict[str, Any]) -> None:
    """Settings a real deployment cannot do without (synth alone runs on placeholders)."""
    missing = [key for key in DEPLOY_REQUIRED if not str(context.get(key) or "").strip()]
    if missing:
        raise SystemExit(
            f"set {', '.join(missing)} in infra/cdk.json or pass them: "
            'make deploy CONTEXT="twilio_account_sid=AC... ses_identities=shop.example"'
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--deployable", action="store_true", help="refuse placeholders for required settings")
    args = parser.parse_args(argv)
    # Run by the CDK CLI, the outdir and context (cdk.json + -c) come through the environment;
    # run by hand, read cdk.json's context here and write to cdk.out/.
    under_cli = bool(os.environ.get("CDK_OUTDIR"))
    context = {} if under_cli else {**_cdk_json_context(), **_parse_context(args.context)}
    if args.deployable and not under_cli:
        _check_deployable(context)
    if under_cli:
        # The CLI runs from infra/ (cdk.json) and gives the outdir relative to it, while cdk.json's
        # command has already moved to the repository root; jsii's Node process (started on the
        # first aws_cdk import) reads the variable too.
        outdir = str((REPO / "infra" / os.environ["CDK_OUTDIR"]).resolve())
        os.environ["CDK_OUTDIR"] = outdir
    else:
        outdir = str(REPO / "cdk.out")
        shutil.rmtree(outdir, ignore_errors=True)  # no stale packages or stacks beside the new ones
    os.chdir(REPO)  # chalice.cdk stages its packages in ./chalice.out
    app, stack = build(context, outdir)
    assembly = app.synth()
    shutil.rmtree(REPO / "chalice.out", ignore_errors=True)  # the package was copied into cdk.out
    template = Path(assembly.directory) / stack.template_file
    print(f"{stack.stack_name}: {template.relative_to(REPO) if template.is_relative_to(REPO) else template}")


if __name__ == "__main__":
    main()
