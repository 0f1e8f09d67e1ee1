"""The YAML -> dataclass loader: unknown keys, wrong types and ranges are refused with the key path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from flow.config.schema import from_dict, to_dict
from flow.errors import ConfigError


@dataclass
class Inner:
    bits: int = 4
    mode: Literal["a", "b"] = "a"

    def __post_init__(self):
        if not 1 <= self.bits <= 8:
            raise ValueError(f"bits={self.bits} is out of range; use 1..8")


@dataclass
class Outer:
    name: str = "x"
    rate: float = 0.5
    inner: Inner = field(default_factory=Inner)
    per_layer: dict[str, Inner] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    maybe: Optional[int] = None


def test_defaults_and_round_trip():
    cfg = from_dict(Outer, {"inner": {"bits": 3}, "per_layer": {"fc1": {"mode": "b"}}, "sizes": [1, 2]})
    assert cfg.inner.bits == 3 and cfg.per_layer["fc1"].mode == "b" and cfg.sizes == [1, 2]
    assert from_dict(Outer, to_dict(cfg)) == cfg


def test_int_is_accepted_as_float_but_not_bool_as_int():
    assert from_dict(Outer, {"rate": 1}).rate == 1.0
    with pytest.raises(ConfigError, match=r"config.inner.bits: expected an integer"):
        from_dict(Outer, {"inner": {"bits": True}})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"nmae": "y"}, r"unknown key\(s\) 'nmae'; known keys: .*name"),
        ({"rate": "fast"}, r"config.rate: expected a number, got str"),
        ({"inner": {"bits": 9}}, r"config.inner: bits=9 is out of range; use 1..8"),
        ({"inner": {"mode": "c"}}, r"config.inner.mode: 'c' is not allowed; use one of 'a', 'b'"),
        ({"per_layer": {"fc1": {"bits": 0}}}, r"config.per_layer.fc1: bits=0"),
        ({"sizes": [1, "2"]}, r"config.sizes\[1\]: expected an integer"),
        ({"per_layer": []}, r"config.per_layer: expected a mapping"),
        ([1, 2], r"config: expected a mapping"),
    ],
)
def test_errors_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data)


def test_optional_accepts_none_and_value():
    assert from_dict(Outer, {"maybe": None}).maybe is None
    assert from_dict(Outer, {"maybe": 3}).maybe == 3
