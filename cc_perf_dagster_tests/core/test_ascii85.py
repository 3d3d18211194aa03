"""The Flate check's ASCII85 decoder returns what pypdf's ``/ASCII85Decode`` returns, errors included."""

from __future__ import annotations

import base64
import random

import pytest
from pypdf.filters import ASCII85Decode

from cc_perf_dagster.core.ascii85 import ascii85_decode


def outcome(decode, data: bytes) -> bytes | str:
    try:
        return decode(data)
    except Exception as exc:  # the error is part of the behaviour
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize(
    "data",
    [
        b'<~87cURD]i,"Ebo80~>',
        b'  87cURD]i,\n"Ebo80~ \n>\r\n',
        b'87cURD]i,"Ebo8~>',  # a short last group
        b"z!!~>",  # the zero abbreviation
        b's8W-"~>',  # a group over 2**32 - 1
        b'87cURD]i,"Ebo80',  # no end marker
        b"87cU{RD~>",  # not a digit
        b"~>",
        b"",
    ],
)
def test_known_inputs(data):
    assert outcome(ascii85_decode, data) == outcome(ASCII85Decode.decode, data)


def test_random_inputs_with_whitespace_and_damage():
    rng = random.Random(16)
    for _ in range(3000):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(40))) + b"\0" * 4 * (rng.random() < 0.3)
        data = bytearray(base64.a85encode(raw, adobe=rng.random() < 0.7, wrapcol=rng.choice([0, 7, 75])))
        for _ in range(rng.randrange(3)):
            at = rng.randrange(len(data) + 1)
            data[at:at] = rng.choice([b" ", b"\n", b"\x00", b"~>", b"<~", b"z", b"uuuuu", bytes([rng.randrange(256)])])
        assert outcome(ascii85_decode, bytes(data)) == outcome(ASCII85Decode.decode, bytes(data)), bytes(data)
