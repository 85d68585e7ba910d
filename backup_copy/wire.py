"""Every JSON shape the function sends: the answer, the notice body and the sweep report.

One serialiser per shape, here and nowhere else. Plain functions rather than pydantic models:
building seven frozen response models costs about 28 ms of a cold start on the development machine
(2 vCPU, Python 3.11.7, pydantic 2.14), and these shapes need no validation.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from itertools import accumulate
from typing import Any

from backup_copy import __version__
from backup_copy.backups import BackupCopy, RegionFailure, new_backup_ids
from backup_copy.outcome import (
    CopyOutcome,
    Expiry,
    Outcome,
    QueuedCopy,
    RpoLine,
    SourceCopy,
    SweepOutcome,
    SweepReport,
)

JsonObject = dict[str, object]

# Fn refuses a response body over 6 MB (OCI Functions limits, invocation payload); an answer is
# kept far below that, and a sweep's long lists are what gets cut.
MAX_ANSWER_BYTES = 1024 * 1024
# Strings are cut to these lengths in turn, lists only after the second; OCIDs (about 100
# characters) survive both.
_STRING_CUTS = (1000, 300)
_LAST_STRING_CUTS = (100, 40, 10)


def copy_json(copy: BackupCopy) -> JsonObject:
    """The contract's copy: {region, id, state, workRequestId}."""
    return {"region": copy.region, "id": copy.id, "state": copy.state, "workRequestId": copy.work_request_id}


def failure_json(failure: RegionFailure) -> JsonObject:
    """A destination that failed (or, as a warning, whose tags were not set)."""
    return {"region": failure.region, "reason": failure.reason, "class": failure.error_class}


def answer(outcome: Outcome) -> JsonObject:
    """The function's answer: status, source, copies, and a reason when nothing was copied."""
    body: JsonObject = {
        "status": outcome.status.value,
        "source": outcome.source,
        "copies": [copy_json(copy) for copy in copies_of(outcome)],
        "version": __version__,
    }
    if outcome.reason is not None:
        body["reason"] = outcome.reason
    if isinstance(outcome, CopyOutcome):
        if outcome.failures:
            body["failures"] = [failure_json(failure) for failure in outcome.failures]
        if outcome.warnings:
            body["warnings"] = [failure_json(warning) for warning in outcome.warnings]
        if outcome.waiting:
            body["queued"] = [{"region": item.region, "reason": item.reason} for item in outcome.waiting]
        if outcome.event_id is not None:
            body["eventId"] = outcome.event_id
    elif outcome.report is not None:
        body["sweep"] = report_json(outcome.report)
    return body


def notice_body(outcome: Outcome) -> JsonObject:
    """The notice's facts: the new OCIDs first, then the answer, then what a subscriber needs besides."""
    new_ids = new_backup_ids(outcome.new_copies)
    if isinstance(outcome, SweepOutcome) and outcome.report is not None:
        # The report's lists at the top: a subscriber reads them, and they are what gets cut to fit.
        return {
            "newBackupIds": new_ids,
            "status": outcome.status.value,
            "reason": outcome.reason,
            "errorClass": outcome.error_class,
            "version": __version__,
            **report_json(outcome.report),
        }
    body: JsonObject = {"newBackupIds": new_ids, **answer(outcome)}
    if outcome.error_class is not None:
        body["errorClass"] = outcome.error_class
    if isinstance(outcome, CopyOutcome):
        body.setdefault("eventId", None)
        body.update(
            {
                "sourceName": outcome.source_name,
                "sourceRegion": outcome.source_region,
                "kind": outcome.kind.value if outcome.kind else None,
                "regions": [copy.region for copy in outcome.copies] + [f.region for f in outcome.failures],
                "workRequestIds": [c.work_request_id for c in outcome.new_copies if c.work_request_id],
                "eventType": outcome.event_type,
            }
        )
    else:
        body["eventType"] = "sweep"
    return body


def report_json(report: SweepReport) -> JsonObject:
    """The sweep's report, for the answer and the notice."""
    return {
        "sourceRegion": report.source_region,
        "examined": report.examined,
        "copied": [copied_json(item) for item in report.copied],
        "failures": [{"source": item.subject, **failure_json(item.failure)} for item in report.failures],
        "warnings": [{"source": item.subject, **failure_json(item.failure)} for item in report.warnings],
        "left": list(report.left),
        "queued": [queued_json(item) for item in report.queued],
        "expired": [expiry_json(expiry) for expiry in report.expired],
        "kept": [
            {"region": item.region, "id": item.id, "source": item.source, "reason": item.reason}
            for item in report.kept
        ],
        "rpo": [rpo_json(line) for line in report.rpo],
        "notes": list(report.notes),
    }


def copied_json(item: SourceCopy) -> JsonObject:
    """A copy the sweep requested, with its source, and the FAULTY copies it retries if any."""
    body: JsonObject = {"source": item.source, **copy_json(item.copy)}
    if item.replaces:
        body["replaces"] = list(item.replaces)
    return body


def expiry_json(expiry: Expiry) -> JsonObject:
    """A copy retention deleted, or would delete."""
    return {
        "region": expiry.region,
        "id": expiry.id,
        "volume": expiry.volume,
        "ageDays": round(expiry.age_days, 2),
        "deleted": expiry.deleted,
    }


def rpo_json(line: RpoLine) -> JsonObject:
    """One volume and destination of the RPO report."""
    return {
        "volume": line.volume,
        "region": line.region,
        "newestAvailableId": line.newest_available_id,
        "ageHours": None if line.age_hours is None else round(line.age_hours, 2),
        "latestState": line.latest_state,
        "queued": line.queued,
        "queuedSince": line.queued_since.isoformat() if line.queued_since else None,
        "flag": line.flag,
    }


def queued_json(item: QueuedCopy) -> JsonObject:
    """A copy waiting on OCI's copy limits."""
    return {
        "source": item.source,
        "region": item.region,
        "volume": item.volume,
        "since": item.since.isoformat() if item.since else None,
        "reason": item.reason,
    }


def copies_of(outcome: Outcome) -> tuple[BackupCopy, ...]:
    """The copies an answer lists: an event's every destination, a sweep's new copies."""
    if isinstance(outcome, SweepOutcome):
        return outcome.new_copies
    return outcome.copies


def fit_json(
    body: JsonObject,
    limit: int,
    *,
    indent: int | None = None,
    keep: Collection[str] = (),
    notes: Mapping[str, str] | None = None,
    totals: Mapping[str, int] | None = None,
) -> str:
    """`body` as JSON text of at most `limit` bytes of UTF-8, cut by fit() if it is longer."""
    if not notes:
        text = whole_json(body, limit, indent=indent)
        if text is not None:
            return text
    return json.dumps(fit(body, limit, keep=keep, notes=notes, totals=totals))


def whole_json(body: JsonObject, limit: int, *, indent: int | None = None) -> str | None:
    """`body` as JSON text if, uncut, it takes at most `limit` bytes of UTF-8; else None.

    Indented, JSON is never shorter than compact, and indenting takes json's pure-Python encoder: a
    body whose compact JSON is too long (a large sweep's report, megabytes) is measured only as far
    as the limit, and never serialised.
    """
    if not json_fits(body, limit):
        return None
    text = json.dumps(body, indent=indent)
    return text if len(text.encode()) <= limit else None


def json_fits(value: object, limit: int) -> bool:
    """Whether `value`'s compact JSON takes at most `limit` bytes of UTF-8; measured as far as it fits."""
    return _length_upto(value, limit) <= limit


def _length_upto(value: object, budget: int) -> int:
    """The length of `value`'s compact JSON; once past `budget`, any length past it (it stops there)."""
    if isinstance(value, dict):
        # Braces and separators, then each key (its quotes and the ": ") and value.
        entries: list[tuple[int, object]] = [(_key_length(key) + 2, item) for key, item in value.items()]
    elif isinstance(value, list):
        entries = [(0, item) for item in value]
    else:
        return len(json.dumps(value))
    total = 2 + 2 * max(len(entries) - 1, 0)
    for overhead, item in entries:
        if total > budget:
            break
        total += overhead
        total += _length_upto(item, budget - total)
    return total


def fit(
    body: JsonObject,
    limit: int,
    *,
    keep: Collection[str] = (),
    notes: Mapping[str, str] | None = None,
    totals: Mapping[str, int] | None = None,
) -> JsonObject:
    """`body`, or a copy cut until its compact JSON takes at most `limit` bytes of UTF-8.

    Long strings are cut first (ending in an ellipsis), then every list to as many items as fit, then
    strings again; the top-level lists named in `keep` stay whole unless nothing else is left to cut.
    A cut body says so: `truncated` names what was cut (with the caller's `notes` on cuts it made
    itself), and `totals` gives the full length of every list, `totals` overriding what the body shows.
    """
    sizes = _Sizes()
    if not notes and sizes.of(body, None, None) <= limit:
        return body
    # Each top-level key's lists, by path, as _list_lengths names them in the body and in a cut of it.
    lengths = {key: _list_lengths({key: value}) for key, value in body.items()}
    full = {**{path: length for each in lengths.values() for path, length in each.items()}, **(totals or {})}
    longest = max(full.values(), default=0)
    longest_string = max((sizes.longest(value) for key, value in body.items() if key not in keep), default=0)
    totals_size = len(json.dumps(full))

    def truncation(strings: int | None, items: int | None, kept: int | None) -> JsonObject:
        """What a cut says of itself: the lists it shortened, the string length it cut to."""
        shortened: list[str] = []
        for key, value in body.items():
            whole_list = key in keep and isinstance(value, list)
            for path, length in lengths[key].items():
                if key in keep:
                    cut_length = min(length, kept) if whole_list and kept is not None else length
                else:
                    cut_length = length if items is None else min(length, items)
                if cut_length < full.get(path, 0):
                    shortened.append(path)
        truncated: JsonObject = {"limitBytes": limit, "lists": sorted(shortened), **(notes or {})}
        if strings is not None and longest_string > strings:
            truncated["stringsCutTo"] = strings
        return truncated

    def attempt(strings: int | None, items: int | None, kept: int | None = None) -> JsonObject | None:
        """The cut, if its JSON fits: measured first (_Sizes), built only when it does."""
        truncated = truncation(strings, items, kept)
        entries = {
            key: (
                sizes.of_list(value, None, None, kept)
                if kept is not None and isinstance(value, list)
                else sizes.of(value, None, None)
            )
            if key in keep
            else sizes.of(value, strings, items)
            for key, value in body.items()
        }
        entries["truncated"] = len(json.dumps(truncated))
        entries["totals"] = totals_size
        if _object_size(entries) > limit:
            return None
        cut: JsonObject = {
            key: (value[:kept] if kept is not None and isinstance(value, list) else value)
            if key in keep
            else sizes.cut(value, strings, items)
            for key, value in body.items()
        }
        cut["truncated"] = truncated
        cut["totals"] = full
        return cut

    # Uncut, the body fits only when the caller's own cut is all there is to say (`notes`).
    for strings in (None, *_STRING_CUTS) if notes else _STRING_CUTS:
        if (fitted := attempt(strings, None)) is not None:
            return fitted
    strings = _STRING_CUTS[-1]
    best = attempt(strings, 0)
    if best is not None:
        # The largest number of items per list that still fits: fewer items never make it longer.
        low, high = 0, longest
        while high - low > 1:
            middle = (low + high) // 2
            if (fitted := attempt(strings, middle)) is not None:
                best, low = fitted, middle
            else:
                high = middle
        return best
    for strings in _LAST_STRING_CUTS:
        if (fitted := attempt(strings, 0)) is not None:
            return fitted
    # Only the kept lists are left to cut (more new OCIDs than the limit holds, which cannot happen
    # with OCI's copy limits): as many as fit.
    for kept in _halvings(
        max((len(v) for k, v in body.items() if k in keep and isinstance(v, list)), default=0)
    ):
        if (fitted := attempt(_LAST_STRING_CUTS[-1], 0, kept)) is not None:
            return fitted
    return {"truncated": {"limitBytes": limit, "lists": sorted(full)}}


class _Sizes:
    """How long the JSON of `_cut(value, strings, items)` is, in UTF-8 bytes, without building it.

    fit() tries many cuts of one body. Built and serialised whole, each try of a large sweep's
    report (thousands of RPO lines) cost a serialisation of megabytes, a dozen times over. Here
    each object without a list in it (a line of the report) is serialised once, and each list keeps
    its items' running lengths per string cut: a try then walks the objects that hold lists.
    The body must not change while this measures it (it remembers objects by id).
    """

    def __init__(self) -> None:
        # An object without a list in it: its length uncut and its longest string; None if it holds one.
        self._flat: dict[int, tuple[int, int] | None] = {}
        # Such an object's length with its strings cut, where they are longer than the cut.
        self._cut_flat: dict[tuple[int, int], int] = {}
        # A list's items' running lengths (0 first), per string cut, when no item holds a list.
        self._running: dict[tuple[int, int | None], list[int] | None] = {}
        # Such a list's items' lengths uncut and their longest strings.
        self._items: dict[int, list[tuple[int, int]] | None] = {}

    def of(self, value: object, strings: int | None, items: int | None) -> int:
        """The length of `_cut(value, strings, items)` as compact JSON."""
        if isinstance(value, str):
            return _string_size(value, strings)
        if isinstance(value, list):
            return self.of_list(value, strings, items, items)
        if isinstance(value, dict):
            flat = self._flat_object(value)
            if flat is None:
                return _object_size({key: self.of(item, strings, items) for key, item in value.items()})
            whole, longest = flat
            if strings is None or longest <= strings:
                return whole
            key = (id(value), strings)
            if key not in self._cut_flat:
                self._cut_flat[key] = len(json.dumps(_cut(value, strings, None)))
            return self._cut_flat[key]
        return len(json.dumps(value))

    def cut(self, value: object, strings: int | None, items: int | None) -> object:
        """`_cut(value, strings, items)`, sharing the objects it would copy unchanged."""
        if isinstance(value, list):
            return [self.cut(item, strings, items) for item in (value if items is None else value[:items])]
        if isinstance(value, dict):
            flat = self._flat_object(value)
            if flat is not None and (strings is None or flat[1] <= strings):
                return value
            return {key: self.cut(item, strings, items) for key, item in value.items()}
        return _cut(value, strings, items)

    def longest(self, value: object) -> int:
        """The length of the longest string among `value`'s items and its objects' values, at any depth."""
        if isinstance(value, dict):
            flat = self._flat_object(value)
            if flat is not None:
                return flat[1]
            return max((self.longest(item) for item in value.values()), default=0)
        if isinstance(value, list):
            return max((self.longest(item) for item in value), default=0)
        return len(value) if isinstance(value, str) else 0

    def of_list(self, value: list[object], strings: int | None, items: int | None, first: int | None) -> int:
        """The length of the list of `value`'s `first` items (all when None), each cut as `_cut` cuts."""
        count = len(value) if first is None else min(len(value), first)
        if count == 0:
            return 2
        running = self._running_lengths(value, strings)
        if running is not None:
            inside = running[count]
        else:
            inside = sum(self.of(item, strings, items) for item in value[:count])
        return 2 + inside + 2 * (count - 1)

    def _running_lengths(self, value: list[object], strings: int | None) -> list[int] | None:
        key = (id(value), strings)
        if key not in self._running:
            measured = self._measured(value)
            if measured is None:
                self._running[key] = None
            else:
                lengths = [
                    whole
                    if strings is None or longest <= strings
                    else len(json.dumps(_cut(item, strings, None)))
                    for item, (whole, longest) in zip(value, measured, strict=True)
                ]
                self._running[key] = list(accumulate(lengths, initial=0))
        return self._running[key]

    def _measured(self, value: list[object]) -> list[tuple[int, int]] | None:
        """Each item's length uncut and longest string; None if an item holds a list (its length then
        depends on how that list is cut)."""
        key = id(value)
        if key not in self._items:
            self._items[key] = self._measure(value)
        return self._items[key]

    def _measure(self, value: list[object]) -> list[tuple[int, int]] | None:
        measured: list[tuple[int, int]] = []
        for item in value:
            flat = self._flat_object(item) if isinstance(item, dict) else None
            if isinstance(item, list) or (isinstance(item, dict) and flat is None):
                return None
            if flat is None:
                flat = (len(json.dumps(item)), len(item) if isinstance(item, str) else 0)
            measured.append(flat)
        return measured

    def _flat_object(self, value: JsonObject) -> tuple[int, int] | None:
        key = id(value)
        if key not in self._flat:
            longest = 0
            for item in value.values():
                if isinstance(item, str):
                    longest = max(longest, len(item))
                elif isinstance(item, list):
                    break
                elif isinstance(item, dict):
                    inner = self._flat_object(item)
                    if inner is None:
                        break
                    longest = max(longest, inner[1])
            else:
                self._flat[key] = (len(json.dumps(value)), longest)
                return self._flat[key]
            self._flat[key] = None
        return self._flat[key]


def _string_size(value: str, strings: int | None) -> int:
    if strings is not None and len(value) > strings:
        value = value[: strings - 1] + "…"
    return len(json.dumps(value))


def _object_size(entries: Mapping[Any, int]) -> int:
    """The length of a JSON object whose values are `entries`' lengths: braces, keys, separators."""
    if not entries:
        return 2
    return 2 + sum(_key_length(key) + 2 + size for key, size in entries.items()) + 2 * (len(entries) - 1)


def _key_length(key: object) -> int:
    """The length of an object's key in JSON: a string's, or what json makes of another key, quoted."""
    return len(json.dumps(key)) if isinstance(key, str) else len(json.dumps({key: 0})) - 5


def _cut(value: object, strings: int | None, items: int | None) -> object:
    if isinstance(value, str):
        return value if strings is None or len(value) <= strings else value[: strings - 1] + "…"
    if isinstance(value, list):
        return [_cut(item, strings, items) for item in (value if items is None else value[:items])]
    if isinstance(value, dict):
        return {key: _cut(item, strings, items) for key, item in value.items()}
    return value


def _list_lengths(value: object, path: str = "") -> dict[str, int]:
    """The length of every list reached through objects alone, by its dotted path (sweep.failures)."""
    lengths: dict[str, int] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, list):
                lengths[where] = len(item)
            else:
                lengths.update(_list_lengths(item, where))
    return lengths


def _halvings(count: int) -> list[int]:
    steps = []
    while count > 0:
        count //= 2
        steps.append(count)
    return steps
