"""The call center in one CloudFormation stack: the tables as the models define them, the Chalice
API and functions, the stream triggers Chalice cannot configure, SES and SSM access scoped to
exact ARNs, alarms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from chalice.utils import to_cfn_resource_name
from constructs import Construct

from chalicelib.domain.twilio_numbers import VOICE_FALLBACK_PATH
from chalicelib.wiring import STREAM_CONSUMERS
from infra.access import (
    FUNCTION_ACCESS,
    INDEX_ACTIONS,
    READ_ACTIONS,
    SCAN_ACTION,
    SCANNED_TABLES,
    WRITE_ACTIONS,
    Access,
)
from infra.api_errors import answer_every_method
from infra.api_keys import AUTHORIZER_FUNCTION, protect_shop_routes
from infra.api_logs import add_access_logs
from infra.chalice_app import ChaliceApp
from infra.scan_findings import AcceptFindings, accepted_findings
from infra.streams import MAX_PARALLELIZATION, ORDER_STREAM_PARALLELIZATION, parallelization_factors
from infra.tables import TableSpec, table_specs
from infra.twilio_function import TWILIO_FUNCTION
from infra.voice_fallback import DEFAULT_LANGUAGES as DEFAULT_FALLBACK_LANGUAGES
from infra.voice_fallback import add_voice_fallback
from infra.waf import add_web_acl, twilio_prefixes

REPO = Path(__file__).resolve().parents[1]
API_STAGE = "api"  # API Gateway's stage: the path prefix of the execute-api URL
METRICS_NAMESPACE = "CallCenter"  # chalicelib.observability's Powertools namespace
SERVICE = "callcenter"
# The dialer publishes this (percent of answered calls dropped, SPEC O8) with the Powertools
# dimension service=callcenter; until it does the alarm stays OK (missing data is not breaching).
DROP_RATE_METRIC = "DialerDropRate"
DROP_RATE_LIMIT_PERCENT = 3
SCHEDULE_CONCURRENCY = 1  # each schedule one run at a time: two dialing runs would dial a task twice
EVERY_MINUTE = "rate(1 minute)"
SCHEDULE_EVENT_MAX_AGE_SECONDS = 60  # a throttled firing older than this is dropped (the next one comes)
PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/replaced-by-infra"
PLACEHOLDER_ACCOUNT_SID = "AC" + "0" * 32

FUNCTION_TIMEOUT_SECONDS = {
    "daily_reports": 300,  # every shop's report in one run
    # API Gateway answers 504 after 29 s: a longer invocation only keeps an order's
    # Idempotency-Key "in progress" (409 to the shop's retries) after its answer was lost.
    "api_handler": 30,
    "twilio_webhooks": 15,  # Twilio gives up on a webhook after 15 s (and plays its error)
}
CRM_PARKED_METRIC = "CrmEvents_parked"  # published by the CRM functions (app.py)
TEXTS_PARKED_METRIC = "Texts_parked"  # published by text_retry (app.py): texts given up after a day (#18)
CRM_SECRET_PARAM_PREFIX = "/callcenter/crm/"  # noqa: S105 - a path, not a secret
API_KEYS_TABLE = "api_keys"  # the one table the shop key authorizer reads
WRITE_ROUTES = [("POST", "/v1/orders"), ("POST", "/v1/callbacks")]  # throttled per route (see _throttling)

STREAM_ACTIONS = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
]


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


@dataclass(frozen=True)
class DeploySettings:
    """Everything a deployment chooses, read from CDK context (``-c key=value`` or cdk.json)."""

    table_prefix: str = "callcenter-"
    twilio_account_sid: str = PLACEHOLDER_ACCOUNT_SID
    # The SSM parameter's name, not the token (that is put there by hand, never in the template).
    twilio_auth_token_param: str = "/callcenter/twilio-auth-token"  # noqa: S105
    twilio_auth_token_kms_key_arn: str | None = None  # only for a customer managed key
    # The key that signs recording links (I9): an SSM SecureString put there by hand, like the token.
    recording_link_secret_param: str = "/callcenter/recording-link-secret"  # noqa: S105
    # The agents' browser softphone (issue 17): the API key that signs their tokens (its SID here,
    # its secret an SSM SecureString put there by hand) and the TwiML App of their outgoing calls.
    twilio_api_key_sid: str | None = None
    twilio_api_key_secret_param: str = "/callcenter/twilio-api-key-secret"  # noqa: S105
    twilio_twiml_app_sid: str | None = None
    public_base_url: str | None = None  # a custom domain mapped to the API without stage
    ses_identities: tuple[str, ...] = ()
    ses_region: str | None = None
    ses_create_identities: bool = True
    alarm_email: str | None = None
    log_retention_days: int = 30
    retain_data: bool = True
    stream_batch_size: int = 25
    stream_retry_attempts: int = 5
    stream_max_record_age_seconds: int = 3600
    # Batches of one orders stream shard handled at once (ParallelizationFactor, #19; the other
    # streams keep 1: infra/streams.py says why, stream by stream).
    order_stream_parallelization: int = ORDER_STREAM_PARALLELIZATION
    lambda_memory_mb: int = 512
    # X-Ray: Lambda's active tracing and Powertools' Tracer. Off, no function loads the X-Ray SDK:
    # `import app` costs about a third less CPU (bench cold_start: 2.64 -> 1.68 x baseline); the
    # Twilio webhooks' function never loads it at import either way.
    tracing: bool = True
    # The shops' CRM signing secrets: SSM SecureStrings <crm_secret_param_prefix><name>, one
    # name per shop's crm.secret_name (the values are put there by hand, never in the template).
    crm_secret_names: tuple[str, ...] = ()
    crm_secret_param_prefix: str = CRM_SECRET_PARAM_PREFIX
    # API Gateway throttling (requests per second, steady and burst): the whole API, and each
    # shop-facing write route (a runaway shop integration retrying in a loop hits this first).
    api_rate_limit: float = 100.0
    api_burst_limit: int = 200
    write_rate_limit: float = 20.0
    write_burst_limit: int = 40
    # Per shop API key (the usage plan; infra/api_keys.py): requests per second, steady and
    # burst, over all shop routes together, and requests per day (UTC). Each key on its own.
    key_rate_limit: float = 10.0
    key_burst_limit: int = 20
    key_daily_quota: int = 100_000
    # Reserved concurrency (#18; infra/README "Concurrency"): a ceiling for the API handler and the
    # Twilio webhooks (a flood costs money and must not take every execution of the account), a
    # floor for each stream consumer, one at a time for each schedule (two dialing runs must never
    # overlap). Off for an account whose concurrency limit is too low to reserve any (new accounts).
    reserved_concurrency: bool = True
    api_reserved_concurrency: int = 50
    twilio_reserved_concurrency: int = 50
    stream_reserved_concurrency: int = 5
    # AWS WAF on the API's stage (#18; infra/waf.py): managed rules and requests per client IP per
    # 5 minutes, never on /twilio/*. Costs about $8 a month plus $0.60 per million requests.
    waf: bool = True
    waf_rate_limit: int = 3000
    # The languages of the voice webhooks' static fallback (infra/voice_fallback.py), in order:
    # catalogs of twiml/ (a shop's callers hear each, so keep it to the shops' main languages).
    voice_fallback_languages: tuple[str, ...] = DEFAULT_FALLBACK_LANGUAGES
    # How long API Gateway keeps the authorizer's answer for a key (a revoked key is refused by
    # the app itself within a minute; this only saves authorizer calls).
    authorizer_cache_seconds: int = 300

    @classmethod
    def from_context(cls, node: Any) -> DeploySettings:
        def get(key: str) -> Any:
            value = node.try_get_context(key)
            return None if value in (None, "") else value

        base = cls()
        settings = cls(
            table_prefix=str(get("table_prefix") or base.table_prefix),
            twilio_account_sid=str(get("twilio_account_sid") or base.twilio_account_sid),
            twilio_auth_token_param=str(get("twilio_auth_token_param") or base.twilio_auth_token_param),
            twilio_auth_token_kms_key_arn=get("twilio_auth_token_kms_key_arn"),
            recording_link_secret_param=str(get("recording_link_secret_param") or base.recording_link_secret_param),
            twilio_api_key_sid=get("twilio_api_key_sid"),
            twilio_api_key_secret_param=str(get("twilio_api_key_secret_param") or base.twilio_api_key_secret_param),
            twilio_twiml_app_sid=get("twilio_twiml_app_sid"),
            public_base_url=(str(get("public_base_url")).rstrip("/") if get("public_base_url") else None),
            ses_identities=tuple(_list(get("ses_identities"))),
            ses_region=get("ses_region"),
            ses_create_identities=_flag(get("ses_create_identities"), base.ses_create_identities),
            alarm_email=get("alarm_email"),
            log_retention_days=int(get("log_retention_days") or base.log_retention_days),
            retain_data=_flag(get("retain_data"), base.retain_data),
            stream_batch_size=int(get("stream_batch_size") or base.stream_batch_size),
            stream_retry_attempts=int(get("stream_retry_attempts") or base.stream_retry_attempts),
            stream_max_record_age_seconds=int(
                get("stream_max_record_age_seconds") or base.stream_max_record_age_seconds
            ),
            order_stream_parallelization=int(get("order_stream_parallelization") or base.order_stream_parallelization),
            lambda_memory_mb=int(get("lambda_memory_mb") or base.lambda_memory_mb),
            tracing=_flag(get("tracing"), base.tracing),
            crm_secret_names=tuple(_list(get("crm_secret_names"))),
            crm_secret_param_prefix=str(get("crm_secret_param_prefix") or base.crm_secret_param_prefix),
            api_rate_limit=float(get("api_rate_limit") or base.api_rate_limit),
            api_burst_limit=int(get("api_burst_limit") or base.api_burst_limit),
            write_rate_limit=float(get("write_rate_limit") or base.write_rate_limit),
            write_burst_limit=int(get("write_burst_limit") or base.write_burst_limit),
            key_rate_limit=float(get("key_rate_limit") or base.key_rate_limit),
            key_burst_limit=int(get("key_burst_limit") or base.key_burst_limit),
            key_daily_quota=int(get("key_daily_quota") or base.key_daily_quota),
            reserved_concurrency=_flag(get("reserved_concurrency"), base.reserved_concurrency),
            api_reserved_concurrency=int(get("api_reserved_concurrency") or base.api_reserved_concurrency),
            twilio_reserved_concurrency=int(get("twilio_reserved_concurrency") or base.twilio_reserved_concurrency),
            stream_reserved_concurrency=int(get("stream_reserved_concurrency") or base.stream_reserved_concurrency),
            waf=_flag(get("waf"), base.waf),
            waf_rate_limit=int(get("waf_rate_limit") or base.waf_rate_limit),
            voice_fallback_languages=tuple(_list(get("voice_fallback_languages"))) or base.voice_fallback_languages,
            authorizer_cache_seconds=int(
                base.authorizer_cache_seconds
                if get("authorizer_cache_seconds") is None
                else get("authorizer_cache_seconds")
            ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not re.fullmatch(r"AC[0-9a-fA-F]{32}", self.twilio_account_sid):
            raise ValueError("twilio_account_sid: 'AC' followed by 32 hex digits")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{0,100}", self.table_prefix):
            raise ValueError("table_prefix: letters, digits, '_', '.', '-' only")
        if not re.fullmatch(r"/?[A-Za-z0-9_.\-/]{1,1011}", self.twilio_auth_token_param):
            raise ValueError("twilio_auth_token_param: an SSM parameter name such as /callcenter/twilio-auth-token")
        if not re.fullmatch(r"/?[A-Za-z0-9_.\-/]{1,1011}", self.recording_link_secret_param):
            raise ValueError(
                "recording_link_secret_param: an SSM parameter name such as /callcenter/recording-link-secret"
            )
        if self.twilio_api_key_sid and not re.fullmatch(r"SK[0-9a-fA-F]{32}", self.twilio_api_key_sid):
            raise ValueError("twilio_api_key_sid: 'SK' followed by 32 hex digits (Twilio console -> API keys)")
        if self.twilio_twiml_app_sid and not re.fullmatch(r"AP[0-9a-fA-F]{32}", self.twilio_twiml_app_sid):
            raise ValueError("twilio_twiml_app_sid: 'AP' followed by 32 hex digits (Twilio console -> TwiML Apps)")
        if not re.fullmatch(r"/?[A-Za-z0-9_.\-/]{1,1011}", self.twilio_api_key_secret_param):
            raise ValueError(
                "twilio_api_key_secret_param: an SSM parameter name such as /callcenter/twilio-api-key-secret"
            )
        if self.public_base_url and not self.public_base_url.startswith("https://"):
            raise ValueError("public_base_url: the https:// URL Twilio calls (a custom domain)")
        if not 1 <= self.stream_retry_attempts <= 10:
            raise ValueError("stream_retry_attempts: 1..10 (never endless: one bad record would block a shard)")
        if not 60 <= self.stream_max_record_age_seconds <= 86400:
            raise ValueError("stream_max_record_age_seconds: 60..86400")
        if not 1 <= self.order_stream_parallelization <= MAX_PARALLELIZATION:
            raise ValueError(f"order_stream_parallelization: 1..{MAX_PARALLELIZATION} (Lambda's ParallelizationFactor)")
        for name in self.crm_secret_names:
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", name):
                raise ValueError(f"crm_secret_names: {name!r} is not a shop's crm.secret_name")
        if not re.fullmatch(r"/[A-Za-z0-9_.\-/]{0,500}/", self.crm_secret_param_prefix):
            raise ValueError("crm_secret_param_prefix: an SSM path such as /callcenter/crm/")
        if not (
            0 < self.write_rate_limit <= self.api_rate_limit and 0 < self.write_burst_limit <= self.api_burst_limit
        ):
            raise ValueError(
                "throttling: 0 < write_rate_limit <= api_rate_limit and 0 < write_burst_limit <= api_burst_limit"
            )
        if not (
            0 < self.key_rate_limit <= self.api_rate_limit
            and 0 < self.key_burst_limit <= self.api_burst_limit
            and self.key_daily_quota > 0
        ):
            raise ValueError(
                "per-key limits: 0 < key_rate_limit <= api_rate_limit, 0 < key_burst_limit <= api_burst_limit, "
                "key_daily_quota > 0"
            )
        for key in ("api_reserved_concurrency", "twilio_reserved_concurrency", "stream_reserved_concurrency"):
            if not 1 <= getattr(self, key) <= 1000:
                raise ValueError(f"{key}: 1..1000 (reserved_concurrency=false turns reservations off)")
        if not 10 <= self.waf_rate_limit <= 2_000_000_000:
            raise ValueError("waf_rate_limit: requests per client IP per 5 minutes, at least 10 (AWS WAF's minimum)")
        known = sorted(path.stem for path in (REPO / "twiml").glob("*.toml"))
        unknown = [language for language in self.voice_fallback_languages if language not in known]
        if unknown or not self.voice_fallback_languages:
            raise ValueError(f"voice_fallback_languages: catalogs of twiml/ ({', '.join(known)}), not {unknown}")
        if not 0 <= self.authorizer_cache_seconds <= 3600:
            raise ValueError("authorizer_cache_seconds: 0..3600")
        if self.log_retention_days not in _LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days: one of {sorted(_LOG_RETENTION_DAYS)}")


_LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922}


class CallCenterStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.tables = {spec.suffix: self._table(spec) for spec in table_specs(settings.table_prefix)}
        self.alarm_topic = sns.Topic(self, "AlarmTopic", display_name="Call center alarms")
        if settings.alarm_email:
            sns.Subscription(
                self,
                "AlarmEmail",
                topic=self.alarm_topic,
                protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=settings.alarm_email,
            )
        if settings.ses_create_identities:
            for number, identity in enumerate(settings.ses_identities):
                ses.CfnEmailIdentity(self, f"SesIdentity{number}", email_identity=identity)

        self.app = ChaliceApp(
            self,
            "ChaliceApp",
            source_dir=str(REPO),
            stage_config=self._stage_config(),
            name_prefix=f"{construct_id}-",
            # A custom domain is known in advance: the usual order (function, then API) stays.
            api_calls_handler_by_name=not settings.public_base_url,
            api_definition_hook=self._shape_api,
        )
        self.function_names = self.app.function_names
        rest_api = self.app.get_resource("RestAPI")
        self.api_name = f"{construct_id}-api"
        rest_api.add_property_override("Name", self.api_name)
        rest_api.add_property_override("MethodSettings", self._throttling())
        rest_api.add_property_override("TracingEnabled", settings.tracing)
        add_access_logs(self, rest_api, api_name=self.api_name, retention_days=settings.log_retention_days)
        self.public_base_url = settings.public_base_url or (
            f"https://{rest_api.ref}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}/{API_STAGE}"
        )

        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.failed_event_queues: dict[str, sqs.Queue] = {}  # schedules Lambda retries (the report)
        consumers = {to_cfn_resource_name(name): table for table, name in STREAM_CONSUMERS.items()}
        for logical_id in self.function_names:
            self._configure_function(logical_id, stream_table=consumers.get(logical_id))
        for logical_id, table in consumers.items():
            self._stream_trigger(logical_id, table)
        if settings.reserved_concurrency:
            self._reserve_concurrency(consumers)

        self.usage_plan = self._usage_plan(rest_api)
        self.web_acl = (
            add_web_acl(
                self,
                name=f"{construct_id}-api",
                rest_api_id=rest_api.ref,
                stage_ref=cdk.Fn.ref("RestAPI.Stage"),
                prefixes=twilio_prefixes(API_STAGE, settings.public_base_url),
                rate_limit=settings.waf_rate_limit,
            )
            if settings.waf
            else None
        )

        self._alarms()
        self._crm_alarm()
        self._outputs()
        self._accept_findings(consumers)

    # ---- reserved concurrency (#18) ----------------------------------------------------------------
    def reserved(self, consumers: dict[str, str]) -> dict[str, int]:
        """logical id -> reserved concurrent executions: the API handler and the Twilio webhooks
        their ceilings, each stream consumer its floor, each schedule 1 (never two runs at once)."""
        settings, reserved = self.settings, {}
        for logical_id, chalice_name in self.app.chalice_names.items():
            if chalice_name == "api_handler":
                reserved[logical_id] = settings.api_reserved_concurrency
            elif logical_id == TWILIO_FUNCTION:
                reserved[logical_id] = settings.twilio_reserved_concurrency
            elif logical_id in consumers:
                reserved[logical_id] = settings.stream_reserved_concurrency
            elif logical_id in self.app.scheduled:
                reserved[logical_id] = SCHEDULE_CONCURRENCY
        return reserved

    def _reserve_concurrency(self, consumers: dict[str, str]) -> None:
        for logical_id, count in self.reserved(consumers).items():
            self.app.get_resource(logical_id).add_property_override("ReservedConcurrentExecutions", count)
            if self.app.scheduled.get(logical_id) == EVERY_MINUTE:
                # A firing throttled by the one-at-a-time limit is not queued for hours behind the
                # running one, nor a failed one retried into the next: the next minute's firing
                # does the same work. (The hourly report keeps Lambda's retries: nothing overlaps it.)
                lambda_.CfnEventInvokeConfig(
                    self,
                    f"{logical_id}InvokeConfig",
                    function_name=self.function_names[logical_id],
                    qualifier="$LATEST",
                    maximum_event_age_in_seconds=SCHEDULE_EVENT_MAX_AGE_SECONDS,
                    maximum_retry_attempts=0,
                ).add_dependency(self.app.get_resource(logical_id))

    # ---- API throttling ------------------------------------------------------------------------
    def _throttling(self) -> list[dict[str, Any]]:
        """Stage method settings: a limit for the whole API, a lower one for each route a shop
        writes through. Over the limit API Gateway answers 429 before any Lambda runs."""
        settings = self.settings
        limits = [
            {
                "HttpMethod": "*",
                "ResourcePath": "/*",
                "ThrottlingRateLimit": settings.api_rate_limit,
                "ThrottlingBurstLimit": settings.api_burst_limit,
            }
        ]
        for method, path in WRITE_ROUTES:
            limits.append(
                {
                    "HttpMethod": method,
                    "ResourcePath": "/" + path.replace("/", "~1"),  # '/v1/orders' is written '/~1v1~1orders'
                    "ThrottlingRateLimit": settings.write_rate_limit,
                    "ThrottlingBurstLimit": settings.write_burst_limit,
                }
            )
        return limits

    # ---- per-key limits (issue #9; infra/api_keys.py), errors in the API's form (infra/api_errors.py)
    def _shape_api(self, swagger: dict[str, Any], function_names: dict[str, str]) -> None:
        self.shop_routes = protect_shop_routes(
            swagger,
            authorizer_function_name=function_names[AUTHORIZER_FUNCTION],
            cache_seconds=self.settings.authorizer_cache_seconds,
        )
        self.any_method_paths = answer_every_method(swagger)
        # after the ANY methods: API Gateway answers these two itself (GET and POST only)
        self.voice_fallback = add_voice_fallback(swagger, self.settings.voice_fallback_languages)

    def _usage_plan(self, rest_api: cdk.CfnResource) -> apigateway.CfnUsagePlan:
        """One plan on the API's stage: every shop key registered in it (cli.admin) gets the same
        rate, burst and daily quota, each key counted on its own. Over them API Gateway answers
        429 before the authorizer's shop reaches the app."""
        settings = self.settings
        plan = apigateway.CfnUsagePlan(
            self,
            "ShopKeyUsagePlan",
            usage_plan_name=f"{self.stack_name}-shop-keys",
            description="Per shop API key: registered by python -m cli.admin create-api-key / register-api-keys",
            # SAM names the stage it generates <api>.Stage; the reference also orders the plan after it.
            api_stages=[
                apigateway.CfnUsagePlan.ApiStageProperty(api_id=rest_api.ref, stage=cdk.Fn.ref("RestAPI.Stage"))
            ],
            throttle=apigateway.CfnUsagePlan.ThrottleSettingsProperty(
                rate_limit=settings.key_rate_limit, burst_limit=settings.key_burst_limit
            ),
            quota=apigateway.CfnUsagePlan.QuotaSettingsProperty(limit=settings.key_daily_quota, period="DAY"),
        )
        authorizer_id = next(
            logical_id for logical_id, name in self.app.chalice_names.items() if name == AUTHORIZER_FUNCTION
        )
        lambda_.CfnPermission(
            self,
            "ShopKeyAuthorizerInvoke",
            action="lambda:InvokeFunction",
            # A reference, not the name: CloudFormation creates the function first.
            function_name=self.app.get_resource(authorizer_id).ref,
            principal="apigateway.amazonaws.com",
            source_arn=(
                f"arn:{cdk.Aws.PARTITION}:execute-api:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:{rest_api.ref}/authorizers/*"
            ),
        )
        return plan

    # ---- tables -------------------------------------------------------------------------------
    def _table(self, spec: TableSpec) -> dynamodb.Table:
        def attribute(key: Any) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=key.name, type=dynamodb.AttributeType(_ATTRIBUTE_TYPES[key.type]))

        table = dynamodb.Table(
            self,
            f"Table{to_cfn_resource_name(spec.suffix)}",
            table_name=spec.name(self.settings.table_prefix),
            partition_key=attribute(spec.hash_key),
            sort_key=attribute(spec.range_key) if spec.range_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType(spec.stream_view_type) if spec.stream_view_type else None,
            time_to_live_attribute=spec.ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN if self.settings.retain_data else cdk.RemovalPolicy.DESTROY,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=attribute(index.hash_key),
                sort_key=attribute(index.range_key) if index.range_key else None,
                projection_type=dynamodb.ProjectionType(index.projection),
                non_key_attributes=list(index.non_key_attributes) or None,
            )
        return table

    # ---- functions ----------------------------------------------------------------------------
    def _stage_config(self) -> dict[str, Any]:
        environment = {
            "TABLE_PREFIX": self.settings.table_prefix,
            "TWILIO_ACCOUNT_SID": self.settings.twilio_account_sid,
            # The name only: the token itself stays in SSM, fetched and cached at run time.
            "TWILIO_AUTH_TOKEN_PARAM": self.settings.twilio_auth_token_param,
            "RECORDING_LINK_SECRET_PARAM": self.settings.recording_link_secret_param,
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "CRM_SECRET_PARAM_PREFIX": self.settings.crm_secret_param_prefix,
            # The softphone's API key secret: its name only, like the token's.
            "TWILIO_API_KEY_SECRET_PARAM": self.settings.twilio_api_key_secret_param,
        }
        if self.settings.twilio_api_key_sid:
            environment["TWILIO_API_KEY_SID"] = self.settings.twilio_api_key_sid
        if self.settings.twilio_twiml_app_sid:
            environment["TWILIO_TWIML_APP_SID"] = self.settings.twilio_twiml_app_sid
        if self.settings.ses_region:
            environment["SES_REGION"] = self.settings.ses_region
        if not self.settings.tracing:
            environment["POWERTOOLS_TRACE_DISABLED"] = "true"
        return {
            "api_gateway_stage": API_STAGE,
            # Roles come from this stack, scoped per function; Chalice's generated policy would
            # grant what its code analysis guesses, with "*" resources.
            "manage_iam_role": False,
            "iam_role_arn": PLACEHOLDER_ROLE,
            "autogen_policy": False,
            "xray": self.settings.tracing,
            "lambda_memory_size": self.settings.lambda_memory_mb,
            "lambda_timeout": 60,
            "log_retention_in_days": self.settings.log_retention_days,
            "environment_variables": environment,
        }

    def _configure_function(self, logical_id: str, stream_table: str | None) -> None:
        name = self.function_names[logical_id]
        chalice_name = self.app.chalice_names[logical_id]
        if chalice_name == AUTHORIZER_FUNCTION:
            self._configure_authorizer(logical_id)
            return
        access = FUNCTION_ACCESS.get(chalice_name)
        if access is None:
            raise ValueError(f"{chalice_name}: a function infra/access.py's FUNCTION_ACCESS does not name")
        statements = [*self._logs_and_tracing(name), *self._table_statements(access)]
        if stream_table is not None:
            table = self.tables[stream_table]
            queue = self._queue(f"{logical_id}FailedRecords")
            self.dead_letter_queues[logical_id] = queue
            statements += [
                iam.PolicyStatement(sid="Stream", actions=STREAM_ACTIONS, resources=[_stream_arn(table)]),
                # Lambda sends the failed batch's description with the function's role.
                iam.PolicyStatement(sid="FailedRecords", actions=["sqs:SendMessage"], resources=[queue.queue_arn]),
            ]
        schedule = self.app.scheduled.get(logical_id)
        if schedule is not None and schedule != EVERY_MINUTE:
            # Lambda retries a failed report run twice; after that the event waits here, alarmed.
            failed = self._queue(f"{logical_id}FailedEvents")
            self.failed_event_queues[logical_id] = failed
            statements.append(
                iam.PolicyStatement(sid="FailedEvents", actions=["sqs:SendMessage"], resources=[failed.queue_arn])
            )
        # The SSM parameters it reads (exact ARNs), as infra/access.py lists them per function.
        parameters = {
            "twilio_token": ("TwilioToken", self.settings.twilio_auth_token_param),
            "recording_link": ("RecordingLinkSecret", self.settings.recording_link_secret_param),  # I9
            "twilio_api_key": ("TwilioApiKeySecret", self.settings.twilio_api_key_secret_param),  # issue 17
        }
        for secret, (sid, parameter) in parameters.items():
            if secret in access.secrets:
                statements.append(
                    iam.PolicyStatement(sid=sid, actions=["ssm:GetParameter"], resources=[_parameter_arn(parameter)])
                )
        if access.secrets and self.settings.twilio_auth_token_kms_key_arn:  # aws/ssm (the default) needs no grant
            statements.append(
                iam.PolicyStatement(
                    sid="TwilioTokenKey",
                    actions=["kms:Decrypt"],
                    resources=[self.settings.twilio_auth_token_kms_key_arn],
                )
            )
        if "crm" in access.secrets and self.settings.crm_secret_names:
            prefix = self.settings.crm_secret_param_prefix
            statements.append(
                iam.PolicyStatement(
                    sid="CrmSecrets",
                    actions=["ssm:GetParameter"],
                    resources=[_parameter_arn(f"{prefix}{name}") for name in self.settings.crm_secret_names],
                )
            )
        if access.email and self.settings.ses_identities:
            region = self.settings.ses_region or cdk.Aws.REGION
            statements.append(
                iam.PolicyStatement(
                    sid="SendEmail",
                    actions=["ses:SendRawEmail"],
                    resources=[
                        f"arn:{cdk.Aws.PARTITION}:ses:{region}:{cdk.Aws.ACCOUNT_ID}:identity/{identity}"
                        for identity in self.settings.ses_identities
                    ],
                )
            )
        # Inline, so the function (and its stream mapping, which Lambda validates against the
        # role) is only created once the permissions exist.
        role = iam.Role(
            self,
            f"{logical_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: exactly the tables, streams, queues and identities it uses",
            inline_policies={"access": iam.PolicyDocument(statements=statements)},
        )
        function = self.app.get_resource(logical_id)
        function.add_property_override("Role", role.role_arn)
        function.add_property_override("Environment.Variables.PUBLIC_BASE_URL", self.public_base_url)
        if logical_id in self.failed_event_queues:
            target = self.failed_event_queues[logical_id].queue_arn
            function.add_property_override("DeadLetterQueue", {"Type": "SQS", "TargetArn": target})
        timeout = FUNCTION_TIMEOUT_SECONDS.get(chalice_name)
        if timeout:
            function.add_property_override("Timeout", timeout)

    def _queue(self, construct_id: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            retention_period=cdk.Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )

    def _accept_findings(self, consumers: dict[str, str]) -> None:
        """The infrastructure scan's findings this deployment accepts (infra/scan_findings.py)."""
        names = self.app.chalice_names
        synchronous = [
            logical_id
            for logical_id, name in names.items()
            if name in ("api_handler", AUTHORIZER_FUNCTION) or logical_id == TWILIO_FUNCTION
        ]
        minute = [logical_id for logical_id, expression in self.app.scheduled.items() if expression == EVERY_MINUTE]
        accepted = accepted_findings(
            synchronous=synchronous, stream_consumers=consumers, minute_schedules=minute, tracing=self.settings.tracing
        )
        cdk.Aspects.of(self).add(AcceptFindings(accepted))

    def _table_statements(self, access: Access) -> list[iam.PolicyStatement]:
        """Reads, scans (only of the tables the code scans), writes and index queries, each on
        exactly the tables infra/access.py gives the function."""
        every = frozenset(self.tables)
        read, written = access.tables_read(every), access.tables_written(every)
        unknown = (read | written) - every
        if unknown:
            raise ValueError(f"infra/access.py names tables the stack does not have: {sorted(unknown)}")

        def arns(suffixes: frozenset[str]) -> list[str]:
            return [self.tables[suffix].table_arn for suffix in sorted(suffixes)]

        statements = []
        if read:
            statements.append(iam.PolicyStatement(sid="TablesRead", actions=list(READ_ACTIONS), resources=arns(read)))
        if read & SCANNED_TABLES:
            statements.append(
                iam.PolicyStatement(sid="TablesScan", actions=[SCAN_ACTION], resources=arns(read & SCANNED_TABLES))
            )
        if written:
            statements.append(
                iam.PolicyStatement(sid="TablesWrite", actions=list(WRITE_ACTIONS), resources=arns(written))
            )
        index_arns = [
            f"{self.tables[spec.suffix].table_arn}/index/{index.name}"
            for spec in table_specs(self.settings.table_prefix)
            if spec.suffix in read
            for index in spec.indexes
        ]
        if index_arns:
            statements.append(iam.PolicyStatement(sid="Indexes", actions=list(INDEX_ACTIONS), resources=index_arns))
        return statements

    @staticmethod
    def _logs_and_tracing(name: str) -> list[iam.PolicyStatement]:
        """What every function's role needs: its own log group, and X-Ray's writes (they have no
        resource-level permissions, so "*" is the only form; Lambda refuses an actively traced
        function whose role cannot write traces)."""
        return [
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:/aws/lambda/{name}:*"
                ],
            ),
            iam.PolicyStatement(
                sid="Tracing",
                actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                resources=["*"],
            ),
        ]

    def _configure_authorizer(self, logical_id: str) -> None:
        """The shop key authorizer reads one item of one table: nothing else."""
        name = self.function_names[logical_id]
        statements = [
            *self._logs_and_tracing(name),
            iam.PolicyStatement(
                sid="ApiKeys",
                actions=["dynamodb:GetItem"],
                resources=[self.tables[API_KEYS_TABLE].table_arn],
            ),
        ]
        role = iam.Role(
            self,
            f"{logical_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: reads shop API keys' digests, nothing else",
            inline_policies={"access": iam.PolicyDocument(statements=statements)},
        )
        function = self.app.get_resource(logical_id)
        function.add_property_override("Role", role.role_arn)
        function.add_property_override("Timeout", 10)
        function.add_property_override("Environment.Variables.PUBLIC_BASE_URL", self.public_base_url)

    def _stream_trigger(self, logical_id: str, table_suffix: str) -> None:
        """Chalice cannot set these: partial batch failures, bisection, bounded retries and age,
        an on-failure queue. Without them one bad record would block its shard for a day."""
        lambda_.CfnEventSourceMapping(
            self,
            f"{logical_id}Trigger",
            function_name=self.app.get_resource(logical_id).ref,
            event_source_arn=_stream_arn(self.tables[table_suffix]),
            starting_position="TRIM_HORIZON",  # records written before the mapping existed too
            batch_size=self.settings.stream_batch_size,
            parallelization_factor=parallelization_factors(self.settings.order_stream_parallelization)[
                STREAM_CONSUMERS[table_suffix]
            ],
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=self.settings.stream_retry_attempts,
            maximum_record_age_in_seconds=self.settings.stream_max_record_age_seconds,
            destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                    destination=self.dead_letter_queues[logical_id].queue_arn
                )
            ),
        )

    # ---- alarms and outputs -------------------------------------------------------------------
    def _alarm(self, construct_id: str, metric: cloudwatch.Metric, threshold: float, description: str) -> None:
        alarm = metric.create_alarm(
            self,
            construct_id,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))

    def _alarms(self) -> None:
        five_minutes = cdk.Duration.minutes(5)
        for logical_id, name in self.function_names.items():
            # The key authorizer refuses a bad key by failing ("Unauthorized" is API Gateway's
            # 401): its errors are shops' mistakes, not ours. Its real failures (a table it
            # cannot read) reach shops as API Gateway 5xx, which Api5xxAlarm watches.
            authorizer = self.app.chalice_names[logical_id] == AUTHORIZER_FUNCTION
            for metric_name in ("Throttles",) if authorizer else ("Errors", "Throttles"):
                metric = cloudwatch.Metric(
                    namespace="AWS/Lambda",
                    metric_name=metric_name,
                    dimensions_map={"FunctionName": name},
                    statistic="Sum",
                    period=five_minutes,
                )
                self._alarm(f"{logical_id}{metric_name}Alarm", metric, 1, f"{name}: {metric_name.lower()}")
        for logical_id, queue in self.failed_event_queues.items():
            name = self.function_names[logical_id]
            depth = queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=five_minutes)
            self._alarm(f"{logical_id}FailedEventsAlarm", depth, 1, f"{name}: a run failed after Lambda's retries")
        for logical_id, queue in self.dead_letter_queues.items():
            name = self.function_names[logical_id]
            depth = queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=five_minutes)
            self._alarm(f"{logical_id}FailedRecordsAlarm", depth, 1, f"{name}: stream records given up (see the queue)")
            age = cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="IteratorAge",
                dimensions_map={"FunctionName": name},
                statistic="Maximum",
                period=five_minutes,
            )
            self._alarm(f"{logical_id}IteratorAgeAlarm", age, 5 * 60 * 1000, f"{name}: stream behind by 5 minutes")
        server_errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map={"ApiName": self.api_name, "Stage": API_STAGE},
            statistic="Sum",
            period=five_minutes,
        )
        self._alarm("Api5xxAlarm", server_errors, 1, "API: 5xx answers (shops or Twilio got an error)")
        drop_rate = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=DROP_RATE_METRIC,
            dimensions_map={"service": SERVICE},
            statistic="Maximum",
            period=cdk.Duration.hours(1),
        )
        self._alarm(
            "DialerDropRateAlarm",
            drop_rate,
            DROP_RATE_LIMIT_PERCENT,
            f"Dialer: dropped (abandoned) answered calls at or over {DROP_RATE_LIMIT_PERCENT}% (SPEC O8)",
        )

    def _crm_alarm(self) -> None:
        # A parked event waits for an operator (python -m cli.admin crm-parked / crm-replay).
        parked = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=CRM_PARKED_METRIC,
            dimensions_map={"service": SERVICE},
            statistic="Sum",
            period=cdk.Duration.minutes(5),
        )
        self._alarm("CrmParkedAlarm", parked, 1, "CRM push: events parked (see cli.admin crm-parked)")
        texts = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=TEXTS_PARKED_METRIC,
            dimensions_map={"service": SERVICE},
            statistic="Sum",
            period=cdk.Duration.minutes(5),
        )
        self._alarm("TextsParkedAlarm", texts, 1, "Texts given up after a day (see cli.admin texts-parked)")

    def _outputs(self) -> None:
        cdk.CfnOutput(self, "PublicBaseUrl", value=self.public_base_url, description="PUBLIC_BASE_URL")
        cdk.CfnOutput(
            self,
            "VoiceWebhook",
            value=f"{self.public_base_url}/twilio/voice/incoming",
            description="Twilio phone number: A call comes in (HTTP POST)",
        )
        cdk.CfnOutput(
            self,
            "SmsWebhook",
            value=f"{self.public_base_url}/twilio/sms/incoming",
            description="Twilio phone number: A message comes in (HTTP POST)",
        )
        cdk.CfnOutput(
            self,
            "VoiceFallbackUrl",
            value=f"{self.public_base_url}{VOICE_FALLBACK_PATH}",
            description="Twilio phone number: Primary handler fails (HTTP POST), static TwiML (step 8 sets it)",
        )
        cdk.CfnOutput(self, "TablePrefix", value=self.settings.table_prefix)
        cdk.CfnOutput(
            self,
            "UsagePlanId",
            value=self.usage_plan.ref,
            description="USAGE_PLAN_ID for python -m cli.admin (shop API keys' per-key limits)",
        )
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)
        for logical_id, queue in self.dead_letter_queues.items():
            cdk.CfnOutput(self, f"{logical_id}FailedRecordsQueue", value=queue.queue_url)


_ATTRIBUTE_TYPES = {"S": "STRING", "N": "NUMBER", "B": "BINARY"}


def _parameter_arn(name: str) -> str:
    return f"arn:{cdk.Aws.PARTITION}:ssm:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:parameter/{name.lstrip('/')}"


def _stream_arn(table: dynamodb.Table) -> str:
    arn = table.table_stream_arn
    if arn is None:
        raise ValueError(f"{table.node.id} has no stream: its model needs Meta.stream_view_type")
    return arn
