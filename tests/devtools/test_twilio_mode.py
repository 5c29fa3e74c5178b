"""Which Twilio ``make run`` uses (issue 16, item 13): the stand-in unless an account SID, its
token and a public URL are given, in the environment or ``.env``; half-given is an error."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from devtools.stack import LOCAL_ACCOUNT_SID, stack_options
from devtools.twilio_mode import RealTwilio, TwilioModeError, choose_twilio, read_dotenv

SID = "AC" + "ab12" * 8
TOKEN = "real-token-of-the-developer"
TUNNEL = "https://quiet-river-42.trycloudflare.com"
REAL = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": TUNNEL}


def choose(environ: dict[str, str], dotenv: dict[str, str] | None = None) -> RealTwilio | None:
    return choose_twilio(environ, dotenv or {}, local_account_sid=LOCAL_ACCOUNT_SID)


def test_nothing_given_or_the_stand_ins_own_account_is_the_stand_in() -> None:
    assert choose({}) is None
    # a token or URL alone (tests and old shells set them) keeps the stand-in, as before
    assert choose({"TWILIO_AUTH_TOKEN": "x", "PUBLIC_BASE_URL": TUNNEL}) is None
    assert choose(REAL | {"TWILIO_ACCOUNT_SID": LOCAL_ACCOUNT_SID}) is None


def test_an_account_its_token_and_a_public_url_are_real_twilio() -> None:
    assert choose(REAL) == RealTwilio(SID, TOKEN, TUNNEL)
    assert choose(REAL | {"PUBLIC_BASE_URL": TUNNEL + "/"}) == RealTwilio(SID, TOKEN, TUNNEL)
    # from .env, the environment winning where both give a value
    assert choose({}, REAL) == RealTwilio(SID, TOKEN, TUNNEL)
    other = "https://abc.ngrok-free.app"
    assert choose({"PUBLIC_BASE_URL": other}, REAL) == RealTwilio(SID, TOKEN, other)
    assert TOKEN not in repr(choose(REAL))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TWILIO_ACCOUNT_SID": SID}, "needs TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL too"),
        (REAL | {"PUBLIC_BASE_URL": ""}, "needs PUBLIC_BASE_URL too"),
        (REAL | {"TWILIO_ACCOUNT_SID": "AC123"}, "must be 'AC' and 32 hex digits"),
        (REAL | {"PUBLIC_BASE_URL": "http://127.0.0.1:8000"}, "which Twilio cannot reach"),
        (REAL | {"PUBLIC_BASE_URL": "http://localhost:8000"}, "which Twilio cannot reach"),
        (REAL | {"PUBLIC_BASE_URL": "quiet-river-42.trycloudflare.com"}, "is not an http(s) URL"),
    ],
)
def test_half_given_or_unreachable_is_an_error_not_a_quiet_stand_in(environ: dict[str, str], message: str) -> None:
    with pytest.raises(TwilioModeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose(environ)


def test_dotenv_lines(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    assert read_dotenv(path) == {}
    path.write_text(
        f"# Twilio for make run\nexport TWILIO_ACCOUNT_SID={SID}\nTWILIO_AUTH_TOKEN='{TOKEN}'\n\n"
        f'PUBLIC_BASE_URL = "{TUNNEL}"\nnot a setting\n'
    )
    assert read_dotenv(path) == REAL


def test_make_runs_options_read_the_dotenv(tmp_path: Path) -> None:
    args = argparse.Namespace(config=Path("config/demo.toml"), port=8000)
    dotenv = tmp_path / ".env"
    assert stack_options(args, {}, dotenv).real_twilio is None
    dotenv.write_text("\n".join(f"{key}={value}" for key, value in REAL.items()))
    assert stack_options(args, {}, dotenv).real_twilio == RealTwilio(SID, TOKEN, TUNNEL)
