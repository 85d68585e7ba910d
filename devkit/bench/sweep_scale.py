"""The sweep at scale for `make bench`: a large estate in the stand-in, one sweep under the real fdk.

The estate: VOLUMES boot volumes with a daily backup for DAYS days in the sweep's region, each copied
to every destination (AVAILABLE, marked as this deployment's). A steady sweep of it makes no copy: it
lists, ranks for retention and reports. The catch-up variant leaves the newest CATCH_UP_DAYS days of
backups without copies, inside a look-back that reaches them, so the sweep runs its copy queue too.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backup_copy.backups import DEPLOYMENT_TAG, MARKER_TAG, VOLUME_TAG
from devkit.fdk_process import FdkProcess
from devkit.local import HOME, LocalCloud
from devkit.standin import make_ocid

# The destinations unless a figure names its own.
DESTINATIONS = ("us-ashburn-1", "eu-frankfurt-1")
# Issue 17's goal: a steady sweep of 3,000 volumes, a daily backup each, to these three destinations,
# in under a second of CPU.
WIDE_DESTINATIONS = ("us-ashburn-1", "eu-frankfurt-1", "uk-london-1")
WIDE_CPU_GOAL_SECONDS = 1.0
DEPLOYMENT = "bench-sweep"
SWEEP = b'{"action": "sweep"}'
# func.yaml's timeout: the Fn-Deadline the sweep is given.
TIMEOUT_SECONDS = 120.0
# func.yaml's memory; the goal is to stay under 90% of it.
MEMORY_MB = 128
MB = 2**20
# A list call with one of these query parameters looks up one backup's copies; the rest are listings.
SOURCE_FILTERS = frozenset({"sourceBootVolumeBackupId", "sourceVolumeBackupId"})


@dataclass(frozen=True)
class SweepFigures:
    """What one sweep of a seeded estate cost, as the function process and the stand-in saw it."""

    name: str
    sources: int
    copies: int
    destinations: int
    peak_rss_mb: float
    baseline_rss_mb: float
    list_calls: int
    # Of the list calls, those that looked up one backup's copies (the rest are listing pages).
    lookups: int
    other_calls: Counter[str]
    wall_seconds: float
    cpu_seconds: float
    answer_bytes: int
    status: str
    copied: int
    queued: int
    seed_seconds: float
    # The most CPU the sweep should take, where a goal is set.
    cpu_goal_seconds: float | None = None

    def lines(self) -> list[str]:
        """The figures, one per line."""
        others = sum(self.other_calls.values())
        detail = ", ".join(f"{route} {count}" for route, count in sorted(self.other_calls.items()))
        goal = MEMORY_MB * 0.9
        met = "yes" if self.peak_rss_mb < goal else f"NO, by {self.peak_rss_mb - goal:.1f} MB"
        lines = [
            f"{self.name}: {self.sources:,} sources, {self.copies:,} copies in {self.destinations} "
            f"destinations (seeded in {self.seed_seconds:.1f} s)",
            f"  peak RSS (VmHWM, fdk process)   {self.peak_rss_mb:7.1f} MB   goal < {goal:.0f} MB "
            f"(90% of memory: {MEMORY_MB}): {met}",
            f"    of which a sweep of nothing   {self.baseline_rss_mb:7.1f} MB   "
            "(imports, clients: the same process, before)",
            f"  wall / CPU of the function      {self.wall_seconds:7.1f} s / {self.cpu_seconds:.1f} s "
            f"(timeout {TIMEOUT_SECONDS:.0f} s)",
            f"  list calls                      {self.list_calls:7d}   "
            f"{self.list_calls - self.lookups} listing pages, {self.lookups} lookups",
            f"  other calls                     {others:7d}   {detail or '-'}",
            f"  answer                          {self.answer_bytes:7d} bytes, status {self.status}, "
            f"copied {self.copied}, queued {self.queued}",
        ]
        if self.cpu_goal_seconds is not None:
            goal = self.cpu_goal_seconds
            met = "yes" if self.cpu_seconds < goal else f"NO, by {self.cpu_seconds - goal:.2f} s"
            lines.insert(
                4, f"  CPU of the function             {self.cpu_seconds:7.2f} s   goal < {goal:g} s: {met}"
            )
        if self.copied:
            total = self.list_calls + others
            # Each copy's own calls: its lookups, requests and tag writes; not the sweep's once-a-run
            # calls (the notice, the metrics) nor the listings, which any sweep makes.
            own = self.lookups + self.other_calls["copy"] + self.other_calls["update"]
            lines.append(
                f"  calls per copied backup         {total / self.copied:7.1f}   "
                f"({own / self.copied:.1f} of its own: lookups, copies, tag writes; goal <= 2: "
                f"{'yes' if own / self.copied <= 2 else 'NO'})"
            )
        return lines


def seed_estate(
    cloud: LocalCloud,
    *,
    volumes: int,
    days: int,
    uncopied_days: int,
    destinations: tuple[str, ...] = DESTINATIONS,
) -> tuple[int, int]:
    """Daily backups of `volumes` boot volumes for `days` days, all but the newest `uncopied_days` copied.

    Each copied to every one of `destinations` (which the stand-in must serve).

    Returns how many sources and copies were seeded.
    """
    standin, compartment = cloud.standin, cloud.principal.compartment_id
    now = datetime.now(UTC)
    sources = copies = 0
    for _ in range(volumes):
        volume = make_ocid("bootvolume", HOME)
        for day in range(days):
            # An hour past each day: the newest is inside a 24-hour look-back, the oldest inside 90 days.
            taken = now - timedelta(days=day, hours=1)
            source = standin.seed_backup(
                kind="boot",
                region=HOME,
                compartment_id=compartment,
                display_name=f"daily {day}",
                freeform_tags={"app": "web"},
                source_type="SCHEDULED",
                parent_id=volume,
                time_created=taken,
            )
            sources += 1
            if day < uncopied_days:
                continue
            tags = {MARKER_TAG: source, VOLUME_TAG: volume, DEPLOYMENT_TAG: DEPLOYMENT, "app": "web"}
            for region in destinations:
                standin.seed_backup(
                    kind="boot",
                    region=region,
                    compartment_id=compartment,
                    display_name=f"daily {day} (copy from {HOME})",
                    freeform_tags=tags,
                    source_type="SCHEDULED",
                    source_backup_id=source,
                    time_created=taken + timedelta(minutes=30),
                )
                copies += 1
    return sources, copies


def measure(
    name: str,
    cloud: LocalCloud,
    start: Callable[[dict[str, str]], FdkProcess],
    *,
    volumes: int,
    days: int,
    uncopied_days: int = 0,
    destinations: tuple[str, ...] = DESTINATIONS,
    cpu_goal_seconds: float | None = None,
) -> SweepFigures:
    """Seed the estate, run one sweep through the fdk on the trimmed payload, and read its costs.

    The process first sweeps an empty estate, as a warm function would have: its clients are built
    and its modules imported, and the peak RSS it reaches is the baseline of the figure.
    """
    lookback = max(24, 24 * uncopied_days)
    env = cloud.function_env(
        ",".join(destinations),
        SWEEP_COMPARTMENT_IDS=cloud.principal.compartment_id,
        SWEEP_LOOKBACK_HOURS=str(lookback),
        RETENTION_DAYS=str(days),
        DEPLOYMENT_NAME=DEPLOYMENT,
    )
    process = start(env)
    try:
        # A sweep of nothing first: the imports and clients, what any sweep costs (the baseline).
        process.invoke(SWEEP, timeout=TIMEOUT_SECONDS)
        baseline = process.peak_rss() / MB
        began = time.perf_counter()
        sources, copies = seed_estate(
            cloud, volumes=volumes, days=days, uncopied_days=uncopied_days, destinations=destinations
        )
        seeded = time.perf_counter() - began
        cloud.standin.clear_requests()
        cpu_before = process.cpu_seconds()
        began = time.perf_counter()
        answer = process.invoke(SWEEP, timeout=TIMEOUT_SECONDS)
        wall = time.perf_counter() - began
        cpu = process.cpu_seconds() - cpu_before
        peak = process.peak_rss() / MB
    finally:
        process.stop()
    body = json.loads(answer.body)
    report = body.get("sweep") or {}
    if "status" not in body or not report:
        raise RuntimeError(f"the sweep gave no report: {answer.status} {answer.body[:500]!r}")
    requests = cloud.standin.requests
    routes = Counter(r.route for r in requests)
    lists = routes.pop("list", 0)
    lookups = sum(r.route == "list" and not SOURCE_FILTERS.isdisjoint(r.query) for r in requests)
    # A long report is cut to fit the answer; `totals` then gives each list's full length.
    totals = body.get("totals") or {}
    return SweepFigures(
        name=name,
        sources=sources,
        copies=copies,
        destinations=len(destinations),
        peak_rss_mb=peak,
        baseline_rss_mb=baseline,
        list_calls=lists,
        lookups=lookups,
        other_calls=routes,
        wall_seconds=wall,
        cpu_seconds=cpu,
        answer_bytes=len(answer.body),
        status=str(body["status"]),
        copied=int(totals.get("sweep.copied", len(report.get("copied", [])))),
        queued=int(totals.get("sweep.queued", len(report.get("queued", [])))),
        seed_seconds=seeded,
        cpu_goal_seconds=cpu_goal_seconds,
    )
