"""The sweep at scale for `make bench`: a large estate in the stand-in, one sweep under the real fdk.

The estate: VOLUMES boot volumes with a daily backup for DAYS days in the sweep's region, each copied
to two destinations (AVAILABLE, marked as this deployment's). A steady sweep of it makes no copy: it
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

DESTINATIONS = ("us-ashburn-1", "eu-frankfurt-1")
DEPLOYMENT = "bench-sweep"
SWEEP = b'{"action": "sweep"}'
# func.yaml's timeout: the Fn-Deadline the sweep is given.
TIMEOUT_SECONDS = 120.0
# func.yaml's memory; the goal is to stay under 90% of it.
MEMORY_MB = 128
MB = 2**20


@dataclass(frozen=True)
class SweepFigures:
    """What one sweep of a seeded estate cost, as the function process and the stand-in saw it."""

    name: str
    sources: int
    copies: int
    peak_rss_mb: float
    baseline_rss_mb: float
    list_calls: int
    other_calls: Counter[str]
    wall_seconds: float
    cpu_seconds: float
    answer_bytes: int
    status: str
    copied: int
    queued: int
    seed_seconds: float

    def lines(self) -> list[str]:
        """The figures, one per line."""
        others = sum(self.other_calls.values())
        detail = ", ".join(f"{route} {count}" for route, count in sorted(self.other_calls.items()))
        goal = MEMORY_MB * 0.9
        met = "yes" if self.peak_rss_mb < goal else f"NO, by {self.peak_rss_mb - goal:.1f} MB"
        lines = [
            f"{self.name}: {self.sources:,} sources, {self.copies:,} copies in {len(DESTINATIONS)} "
            f"destinations (seeded in {self.seed_seconds:.1f} s)",
            f"  peak RSS (VmHWM, fdk process)   {self.peak_rss_mb:7.1f} MB   goal < {goal:.0f} MB "
            f"(90% of memory: {MEMORY_MB}): {met}",
            f"    of which a sweep of nothing   {self.baseline_rss_mb:7.1f} MB   "
            "(imports, clients: the same process, before)",
            f"  wall / CPU of the function      {self.wall_seconds:7.1f} s / {self.cpu_seconds:.1f} s "
            f"(timeout {TIMEOUT_SECONDS:.0f} s)",
            f"  list calls                      {self.list_calls:7d}",
            f"  other calls                     {others:7d}   {detail or '-'}",
            f"  answer                          {self.answer_bytes:7d} bytes, status {self.status}, "
            f"copied {self.copied}, queued {self.queued}",
        ]
        if self.copied:
            total = self.list_calls + others
            lines.append(
                f"  calls per copied backup         {total / self.copied:7.1f}   "
                f"({others / self.copied:.1f} beyond the listings)"
            )
        return lines


def seed_estate(cloud: LocalCloud, *, volumes: int, days: int, uncopied_days: int) -> tuple[int, int]:
    """Daily backups of `volumes` boot volumes for `days` days, all but the newest `uncopied_days` copied.

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
            for region in DESTINATIONS:
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
) -> SweepFigures:
    """Seed the estate, run one sweep through the fdk on the trimmed payload, and read its costs.

    The process first sweeps an empty estate, as a warm function would have: its clients are built
    and its modules imported, and the peak RSS it reaches is the baseline of the figure.
    """
    lookback = max(24, 24 * uncopied_days)
    env = cloud.function_env(
        ",".join(DESTINATIONS),
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
        sources, copies = seed_estate(cloud, volumes=volumes, days=days, uncopied_days=uncopied_days)
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
    routes = Counter(r.route for r in cloud.standin.requests)
    lists = routes.pop("list", 0)
    # A long report is cut to fit the answer; `totals` then gives each list's full length.
    totals = body.get("totals") or {}
    return SweepFigures(
        name=name,
        sources=sources,
        copies=copies,
        peak_rss_mb=peak,
        baseline_rss_mb=baseline,
        list_calls=lists,
        other_calls=routes,
        wall_seconds=wall,
        cpu_seconds=cpu,
        answer_bytes=len(answer.body),
        status=str(body["status"]),
        copied=int(totals.get("sweep.copied", len(report.get("copied", [])))),
        queued=int(totals.get("sweep.queued", len(report.get("queued", [])))),
        seed_seconds=seeded,
    )
