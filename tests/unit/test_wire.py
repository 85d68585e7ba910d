"""Cutting a long answer to fit: measured without being built, and the same cut as building each try."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from backup_copy.wire import _cut, _Sizes, fit, json_fits

TEXT = st.text(st.sampled_from(["a", "é", "日", "🙂", '"', "\\", "\x01", "…"]), max_size=30) | st.text(
    max_size=400
)
LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
VALUE = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.text(max_size=4) | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
    max_leaves=40,
)
BODY = st.dictionaries(
    st.sampled_from(["copies", "newBackupIds", "sweep", "reason", "totals"]), VALUE, max_size=5
)
CUTS = st.sampled_from([None, 1, 10, 300])


@settings(max_examples=300, deadline=None)
@given(VALUE, CUTS, st.sampled_from([None, 0, 1, 3]))
def test_a_cut_is_measured_exactly_as_long_as_its_json(
    value: object, strings: int | None, items: int | None
) -> None:
    assert _Sizes().of(value, strings, items) == len(json.dumps(_cut(value, strings, items)).encode())


@settings(max_examples=300, deadline=None)
@given(BODY, st.integers(600, 4000), st.booleans())
def test_a_cut_body_fits_its_limit_and_says_what_was_cut(
    body: dict[str, object], limit: int, keep: bool
) -> None:
    fitted = fit(body, limit, keep=("copies", "newBackupIds") if keep else ())
    text = json.dumps(fitted)
    if len(json.dumps(body).encode()) <= limit:
        assert fitted is body
    else:
        assert len(text.encode()) <= limit
        assert "truncated" in fitted


@settings(max_examples=300, deadline=None)
@given(VALUE, st.integers(0, 400))
def test_whether_json_fits_is_told_without_measuring_past_the_limit(value: object, limit: int) -> None:
    assert json_fits(value, limit) == (len(json.dumps(value).encode()) <= limit)
