"""The agent page's script files (issue 17): Twilio's Voice JavaScript SDK and the page's own
softphone script, each found once and named by its content's digest.

The SDK is npm's (``@twilio/voice-sdk``, locked in ``package.json``). The Lambda package carries
it at ``chalicelib/vendor/voice-sdk/twilio.min.js`` (infra/ puts it there when it builds the
package); a checkout (the local stack, the tests) reads it from ``node_modules/``."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

CHALICELIB = Path(__file__).resolve().parent.parent
PACKAGED_SDK = "chalicelib/vendor/voice-sdk/twilio.min.js"  # inside the Lambda package
SDK_IN_NODE_MODULES = "node_modules/@twilio/voice-sdk/dist/twilio.min.js"


@dataclass(frozen=True)
class Asset:
    name: str
    route: str  # where web.softphone serves it, with ``{digest}``
    places: tuple[Path, ...]  # the first that exists is served

    def path(self) -> Path:
        for place in self.places:
            if place.is_file():
                return place
        raise FileNotFoundError(f"{self.name}: none of {', '.join(map(str, self.places))} (run make setup)")

    def body(self) -> str:
        return _read(self.path())

    def digest(self) -> str:
        return hashlib.sha256(self.body().encode("utf-8")).hexdigest()[:16]

    def page_url(self) -> str:
        """Its URL relative to the page (``/agent``): the API's stage prefix stays in front."""
        return self.route.lstrip("/").replace("{digest}", self.digest())


@functools.cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


ASSETS = {
    "voice-sdk": Asset(
        "the Voice SDK",
        "/agent/voice-sdk/{digest}/twilio.min.js",
        (CHALICELIB.parent / PACKAGED_SDK, CHALICELIB.parent / SDK_IN_NODE_MODULES),
    ),
    "softphone": Asset(
        "the softphone script", "/agent/softphone/{digest}/softphone.js", (CHALICELIB / "templates" / "softphone.js",)
    ),
}
