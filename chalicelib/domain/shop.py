"""A shop's settings: everything per shop that changes what callers and customers get."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from chalicelib.domain.crm import crm_url_problem


def _email_address(value: str) -> str:
    """pydantic's ``EmailStr`` check, with ``email_validator`` imported when an address is
    first checked rather than when this module is (a cold start of the webhooks needs none)."""
    from pydantic.networks import validate_email

    return validate_email(value)[1]


EmailStr = Annotated[str, AfterValidator(_email_address), WithJsonSchema({"type": "string", "format": "email"})]
LanguageCode = Literal["uk", "ru", "en"]
CallResult = Literal["busy", "no-answer", "machine", "failed", "no-input", "canceled"]


def international_numbers(numbers: list[str]) -> list[str]:
    """Each number in E.164, repeats dropped; ValueError naming one that is none. No region
    to assume here: the number must carry its country code."""
    import phonenumbers  # cold start: its metadata loads on first use

    normalised = []
    for number in numbers:
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            raise ValueError(f"{number!r} is not a phone number in international form (+380...)")
        normalised.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return list(dict.fromkeys(normalised))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DedupPolicy(_Strict):
    # A: phone + order number seen before -> duplicate. B: phone seen within the window -> duplicate.
    variant: Literal["A", "B"] = "A"
    window_minutes: int = Field(default=24 * 60, ge=1, le=90 * 24 * 60)


class CallingWindow(_Strict):
    start: time = time(10, 0)
    end: time = time(22, 0)
    # Shops under stricter rules never call outside 08:00-21:00, whatever start/end say.
    legal_hours_only: bool = False

    @model_validator(mode="after")
    def _start_before_end(self) -> CallingWindow:
        if self.start >= self.end:
            raise ValueError("calling window start must be before its end")
        return self


class RobotPolicy(_Strict):
    max_concurrent_calls: int = Field(default=5, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1, le=10)
    ring_timeout_seconds: int = Field(default=30, ge=5, le=120)
    retry_minutes: dict[CallResult, int] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "busy": 10,
            "no-answer": 30,
            "machine": 60,
            "failed": 30,
            "no-input": 30,
            "canceled": 30,
        }
    )


class TriagePolicy(_Strict):
    """Which orders need no call, a robot call, or a person (O5)."""

    auto_confirm_prepaid: bool = True  # prepaid, in stock, no call asked for: confirmed at once
    auto_confirm_max_total: Decimal = Decimal("5000")
    agent_from_total: Decimal | None = Decimal("20000")  # large orders go to an agent
    agent_when_out_of_stock: bool = True
    agent_when_call_requested: bool = True  # the order's needs_call flag


class DialingPolicy(_Strict):
    # Variant 1: new, one attempt, callbacks due, retries with no contact. Variant 2: new, then fewest attempts.
    priority_variant: Literal[1, 2] = 1
    # Agent tasks (O8): "progressive" calls the agent first; "predictive" calls customers first,
    # paced by chalicelib.domain.pacing, and bridges a person who answers to a free agent.
    agent_pacing: Literal["progressive", "predictive"] = "progressive"
    abandon_target_percent: float = Field(default=3.0, gt=0, le=3.0)  # dropped live answers, per day
    abandon_aim_percent: float = Field(default=1.5, gt=0, le=3.0)
    max_agent_lines: int = Field(default=30, ge=1, le=1000)  # customer calls in flight at most


class ReportPolicy(_Strict):
    hour: int = Field(default=8, ge=0, le=23)  # local hour the previous day's report goes out
    recipients: list[EmailStr] = Field(default_factory=list)
    sender: EmailStr | None = None
    weekly_on: int | None = Field(default=None, ge=0, le=6)  # weekday (0 = Monday) of last week's digest
    monthly: bool = False  # last month's digest on the 1st
    daily: bool = True  # False: digests only


class AlertPolicy(_Strict):
    """Immediate emails to the shop's managers (R6). Empty recipients: the report's recipients."""

    recipients: list[EmailStr] = Field(default_factory=list)
    order_total_above: Decimal | None = Field(default=None, ge=0)  # None: no large-order alerts
    complaints: bool = True
    max_queue_wait_seconds: int | None = Field(default=120, ge=1)  # None: no queue-wait alerts
    max_drop_rate_percent: Decimal | None = Field(default=Decimal("3"), ge=0, le=100)  # O8's legal bar
    # Managers' mobiles that get every alert also by text, in international form (+380...).
    sms_numbers: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("sms_numbers")
    @classmethod
    def _international_numbers(cls, numbers: list[str]) -> list[str]:
        return international_numbers(numbers)


class CrmPolicy(_Strict):
    """Where the shop's CRM takes our events (A6). The secret signing them is not here: the
    shop names it, and the app reads ``CRM_SECRET_<NAME>`` from the environment or the SSM
    SecureString ``<CRM_SECRET_PARAM_PREFIX><name>`` (see the README)."""

    url: str = Field(max_length=2000)
    secret_name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")

    @field_validator("url")
    @classmethod
    def _a_crm_url(cls, value: str) -> str:
        # The lenient (local) check here; the cloud's stricter one runs where the shop is
        # configured and again before every delivery (chalicelib.services.crm_push).
        problem = crm_url_problem(value, local=True)
        if problem:
            raise ValueError(problem)
        return value


class OpenInterval(_Strict):
    """One opening of a day, local wall-clock time of the shop (I3)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _start_before_end(self) -> OpenInterval:
        if self.start >= self.end:
            raise ValueError("an opening interval must start before it ends")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class BusinessHours(_Strict):
    """When the shop answers calls (I3); 24/7 unless a weekly schedule is given."""

    always_open: bool = True
    weekly: dict[Weekday, list[OpenInterval]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)


class DeliveryWindow(OpenInterval):
    """One delivery window of a day, the shop's local wall-clock time (I4)."""


class DeliverySlotPolicy(_Strict):
    """The delivery slots a caller may pick in the self-service menu (I4). No windows: the
    menu offers none. Slots are the windows of the next ``days_offered`` local days (today
    first; at most 7, so a weekday name is never ambiguous), minus ``closed_on``, starting at
    least ``lead_minutes`` from now; the first ``max_offered`` of them are read out."""

    weekly: dict[Weekday, list[DeliveryWindow]] = Field(default_factory=dict)
    closed_on: list[date] = Field(default_factory=list)
    lead_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    days_offered: int = Field(default=3, ge=1, le=7)
    max_offered: int = Field(default=4, ge=1, le=8)  # digits 1-8; 0 is the agent


class InboundPolicy(_Strict):
    """How callers are served (I2, I5, I8-I10)."""

    menu_attempts: int = Field(default=3, ge=1, le=5)  # a menu is asked at most this often
    queue_max_wait_seconds: int = Field(default=300, ge=30, le=3600)
    agent_ring_seconds: int = Field(default=20, ge=5, le=120)
    wrap_up_seconds: int = Field(default=30, ge=0, le=900)
    default_handle_seconds: int = Field(default=180, ge=10, le=3600)
    hold_music_url: str = "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3"
    record_calls: bool = True
    survey: bool = True
    self_service: bool = True
    delivery_slots: DeliverySlotPolicy = Field(default_factory=DeliverySlotPolicy)
    # Twilio's transcription of each voicemail (paid; recordings of up to 2 minutes), emailed
    # to the shop after the voicemail's own email.
    voicemail_transcription: bool = False


class DeliveryNoticePolicy(_Strict):
    """What a customer is told about delivery once their order is confirmed (O9). ``sms``: a
    text naming the order and its delivery time and address when known (else that the shop will
    be in touch), sent once per order under the do-not-call list; ``off``: the shop tells its
    customers itself (its carrier does, say). ``note``: the shop's own sentence after it, per
    language (e.g. how its courier takes payment); plain text, read as written. No call mode:
    in most paths the customer has just hung up on a call that confirmed it, a second call
    would need its own calling-hours schedule and no-answer fallback, and a text keeps the
    time and address in writing."""

    mode: Literal["sms", "off"] = "sms"
    note: dict[LanguageCode, Annotated[str, Field(min_length=1, max_length=300)]] = Field(default_factory=dict)

    @field_validator("note")
    @classmethod
    def _one_line(cls, note: dict[str, str]) -> dict[str, str]:
        return {language: " ".join(text.split()) for language, text in note.items()}


class DestinationPolicy(_Strict):
    """Whom the shop's calls and texts may reach: numbers come from the public checkout and the
    "call me back" form, so without these a stranger could make the shop call premium-rate
    numbers or text far countries on its bill (toll fraud, SMS pumping). Premium-rate,
    shared-cost, personal, UAN, toll-free and other numbers that are no customer's own line are
    never called, whatever is set here (``domain.phones.destination_problem``)."""

    countries: list[str] = Field(default_factory=list, max_length=50)  # empty: the shop's default_region
    # Numbers the shop contacts for the first time each local day, at most; more are refused
    # (429) and the managers get one alert that day.
    new_numbers_per_day: int = Field(default=1000, ge=1, le=1_000_000)

    @field_validator("countries")
    @classmethod
    def _known_regions(cls, values: list[str]) -> list[str]:
        import phonenumbers  # cold start: its metadata loads on first use

        regions = [value.strip().upper() for value in values]
        unknown = [value for value in regions if value not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown country code(s) {', '.join(map(repr, unknown))}: use ISO codes such as 'UA'")
        return list(dict.fromkeys(regions))


class DeskPolicy(_Strict):
    """The agents' desk (A3, A7): how long an agent's token works from its issue (then the
    agent asks for a new one), how far back a call makes a customer the agent's own, whose
    timeline they may read (a supervisor's token reads every customer's), and the outside
    numbers a call may be transferred to."""

    agent_token_days: int = Field(default=30, ge=1, le=365)
    customer_days: int = Field(default=30, ge=1, le=365)
    # Outside numbers an agent may transfer a caller to (cold), in international form: only
    # these, and only where the shop's destinations allow (#17). Empty: no outside transfers.
    transfer_numbers: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("transfer_numbers")
    @classmethod
    def _international_numbers(cls, numbers: list[str]) -> list[str]:
        return international_numbers(numbers)


class PrivacyPolicy(_Strict):
    """How long a customer's records are kept (#18): orders, calls (with their recordings'
    metadata), texts and outcomes expire this many days after they are written (DynamoDB's
    TTL). At least 62 days: the monthly report, its trends and the desk's customer days read
    that far back; a day's report reads only that day's records."""

    retention_days: int = Field(default=365, ge=62, le=3650)


class ShopSettings(_Strict):
    shop_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")
    name: str = Field(min_length=1, max_length=100)
    default_region: str = "UA"
    timezone: str = "Europe/Kyiv"
    languages: list[LanguageCode] = Field(default_factory=lambda: ["uk"], min_length=1)  # type: ignore[arg-type]
    currency: str = Field(default="UAH", pattern=r"^[A-Z]{3}$")
    caller_id: str | None = None  # the shop number outbound calls show (E.164)
    dedup: DedupPolicy = Field(default_factory=DedupPolicy)
    calling_hours: CallingWindow = Field(default_factory=CallingWindow)
    robot: RobotPolicy = Field(default_factory=RobotPolicy)
    triage: TriagePolicy = Field(default_factory=TriagePolicy)
    dialing: DialingPolicy = Field(default_factory=DialingPolicy)
    report: ReportPolicy = Field(default_factory=ReportPolicy)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    test_names: list[str] = Field(default_factory=lambda: ["test", "тест", "asdf", "qwerty"])
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    inbound: InboundPolicy = Field(default_factory=InboundPolicy)
    crm: CrmPolicy | None = None  # no CRM: no events are kept for it
    delivery_notice: DeliveryNoticePolicy = Field(default_factory=DeliveryNoticePolicy)
    destinations: DestinationPolicy = Field(default_factory=DestinationPolicy)
    desk: DeskPolicy = Field(default_factory=DeskPolicy)
    privacy: PrivacyPolicy = Field(default_factory=PrivacyPolicy)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers  # cold start: its metadata loads on first use

        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # ZoneInfo caches each zone it loads; available_timezones() would read ~600 files per call.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def main_language(self) -> LanguageCode:
        return self.languages[0]

    @property
    def destination_regions(self) -> tuple[str, ...]:
        """The countries the shop calls and texts (``destinations.countries``, else its own)."""
        return tuple(self.destinations.countries or [self.default_region])


def merged_settings(stored: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """An update of a shop's settings (P3): ``given`` over ``stored``, changing only what is given.
    A table given where a table is stored (``robot``, ``report``, ``inbound.delivery_slots``,
    ``robot.retry_minutes``, ``business_hours.weekly`` ...) is merged key by key, at any depth;
    anything else given (a value, a list, a null) replaces the stored one whole, so
    ``report.recipients = ["a@x"]`` is the new list and ``"crm": null`` removes the CRM. Keys not
    given keep their stored values; taking a key out altogether needs a replace of the whole."""
    merged = dict(stored)
    for key, value in given.items():
        before = merged.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            merged[key] = merged_settings(before, value)
        else:
            merged[key] = value
    return merged
