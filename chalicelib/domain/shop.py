"""A shop's settings: everything per shop that changes what callers and customers get."""

from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

LanguageCode = Literal["uk", "ru", "en"]
CallResult = Literal["busy", "no-answer", "machine", "failed", "no-input", "canceled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DedupPolicy(_Strict):
    # A: phone + order number seen before -> duplicate. B: phone seen within the window -> duplicate.
    variant: Literal["A", "B"] = "A"
    window_minutes: int = Field(default=24 * 60, ge=1, le=90 * 24 * 60)


class CallingWindow(_Strict):
    start: time = time(10, 0)
    end: time = time(22, 0)

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


class ReportPolicy(_Strict):
    hour: int = Field(default=8, ge=0, le=23)  # local hour the previous day's report goes out
    recipients: list[EmailStr] = Field(default_factory=list)
    sender: EmailStr | None = None


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
    report: ReportPolicy = Field(default_factory=ReportPolicy)
    test_names: list[str] = Field(default_factory=lambda: ["test", "тест", "asdf", "qwerty"])

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
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
