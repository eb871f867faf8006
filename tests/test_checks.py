"""utils.checks.positive_int: integers at or above the bound pass as Python ints; anything else is refused by name."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

from utils.checks import positive_int


@given(st.integers(-10, 10), st.integers(-3, 3), st.sampled_from([int, np.int8, np.int32, np.int64, np.uint16]))
def test_an_integer_passes_exactly_when_it_reaches_the_minimum(value, minimum, kind):
    if kind is np.uint16 and value < 0:
        value = -value                                   # an unsigned type holds no negative number
    given_value = kind(value)
    if value >= minimum:
        out = positive_int(given_value, "k", minimum=minimum)
        assert out == value and type(out) is int
    else:
        with pytest.raises(ValueError, match=re.escape(f"k must be an integer >= {minimum}, got {given_value!r}")):
            positive_int(given_value, "k", minimum=minimum)


@given(st.one_of(st.booleans(), st.floats(), st.text(max_size=3), st.none(),
                 st.integers(1, 5).map(float), st.integers(1, 5).map(np.float32), st.just(np.bool_(True))))
def test_what_is_not_an_integer_is_refused_whatever_its_value(value):
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1, got "):
        positive_int(value, "batch_size")
