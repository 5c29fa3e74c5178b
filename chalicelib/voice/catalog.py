"""Every word a caller hears (and a manager reads in an alert), per language, from ``twiml/<language>.toml``.

Catalogs are plain files so a shop can change the wording without touching code. A prompt
missing from one catalog falls back to English at run time (a test makes sure none is).
"""

from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any

FALLBACK_LANGUAGE = "en"


def catalog_dir() -> Path:
    configured = os.environ.get("TWIML_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "twiml"  # chalicelib/twiml inside the Lambda package
    return packaged if packaged.is_dir() else here.parents[2] / "twiml"


@dataclass(frozen=True)
class Catalog:
    language: str
    tts_language: str
    voice: str
    prompts: dict[str, str]
    currency_names: dict[str, str] = field(default_factory=dict)
    audio: dict[str, str] = field(default_factory=dict)
    sms: dict[str, str] = field(default_factory=dict)  # text messages, same placeholders rule
    alert: dict[str, str] = field(default_factory=dict)  # the managers' alert emails (R6), same rule

    def text(self, prompt: str, **values: Any) -> str:
        return self._say("prompts", prompt, "prompt", values)

    def sms_text(self, message: str, **values: Any) -> str:
        return self._say("sms", message, "text message", values)

    def alert_text(self, name: str, **values: Any) -> str:
        return self._say("alert", name, "alert wording", values)

    def _say(self, table: str, name: str, what: str, values: dict[str, Any]) -> str:
        """The template ``name`` of ``table`` filled in; the fallback language's when this
        catalog lacks it."""
        template = getattr(self, table).get(name)
        if template is None:
            if self.language == FALLBACK_LANGUAGE:
                raise KeyError(f"{what} {name!r} is in no catalog")
            return load_catalog(FALLBACK_LANGUAGE)._say(table, name, what, values)
        return str(template.format_map(values))

    def currency(self, code: str) -> str:
        return self.currency_names.get(code, code)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


@functools.cache
def load_catalog(language: str) -> Catalog:
    path = catalog_dir() / f"{language}.toml"
    if not path.is_file():
        if language == FALLBACK_LANGUAGE:
            raise FileNotFoundError(path)
        return load_catalog(FALLBACK_LANGUAGE)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Catalog(
        language=language,
        tts_language=data["voice"]["language"],
        voice=data["voice"]["voice"],
        prompts=dict(data["prompts"]),
        currency_names=dict(data.get("currency", {})),
        audio=dict(data.get("audio", {})),
        sms=dict(data.get("sms", {})),
        alert=dict(data.get("alert", {})),
    )
