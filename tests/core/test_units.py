import pytest

from core.units import format_bit_rate, parse_bit_rate, parse_duration, parse_ratio


@pytest.mark.parametrize("text, expected", [
    ("20 Mbit/s", 20e6), ("512 kbit/s", 512e3), ("1 Gbit/s", 1e9), ("8Mbps", 8e6), (20_000_000, 20e6),
    ("4000000", 4e6), (0, 0.0),
])
def test_bit_rates_are_read_in_bits_per_second(text, expected):
    assert parse_bit_rate(text) == expected


@pytest.mark.parametrize("bad, fragment", [
    (20, "implausibly low"), ("20", "implausibly low"), ("20 MB", "unknown bit-rate unit"), ("fast", "cannot read"),
    (-5e6, "negative"), (True, "number of bit/s"),
])
def test_bit_rates_in_the_wrong_unit_are_refused(bad, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_bit_rate(bad)


def test_durations_and_ratios():
    assert parse_duration("100 ms") == pytest.approx(0.1)
    assert parse_duration(0.1) == 0.1
    assert parse_ratio("1 %") == 0.01
    assert parse_ratio("95 %") == 0.95
    assert parse_ratio(0.02) == 0.02
    with pytest.raises(ValueError, match="implausibly long"):
        parse_duration(100)
    with pytest.raises(ValueError, match="not a ratio"):
        parse_ratio(5)


def test_bit_rates_are_formatted_for_people():
    assert format_bit_rate(20e6) == "20 Mbit/s"
    assert format_bit_rate(512e3) == "512 kbit/s"
