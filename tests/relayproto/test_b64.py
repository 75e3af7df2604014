"""The shared base64url codec round-trips and refuses anything that is not strict."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayproto import b64


@given(st.binary(max_size=100))
def test_round_trip_without_padding(data):
    text = b64.encode(data)
    assert "=" not in text and b64.decode(text) == data


@pytest.mark.parametrize("text", ["a+b/", "abc=", "a b", "A", "é", 42])
def test_non_base64url_is_a_value_error(text):
    with pytest.raises(ValueError):
        b64.decode(text)
