import pytest

from chalicelib.domain.twilio_fields import twilio_count


@pytest.mark.parametrize(("text", "count"), [("0", 0), ("42", 42), (" 7 ", 7), ("9" * 18, int("9" * 18))])
def test_counts_twilio_sends_are_read(text: str, count: int) -> None:
    assert twilio_count(text) == count


@pytest.mark.parametrize("text", [None, "", " ", "-1", "1.5", "1e9", "¹", "٣", "9" * 19, "12abc"])
def test_anything_else_is_no_count(text: str | None) -> None:
    assert twilio_count(text) is None
