"""`make bench`: the event figures and the sweep at scale, against the stand-in on this machine.

    python -m devkit.bench [--rounds 21] [--burst 50] [--warm 200] [--only events|sweep]
                           [--volumes 150] [--days 90] [--catch-up-days 20] [--wide-volumes 3000]

Every function process runs as the image runs it: the real fdk on a unix socket, from a read-only
copy of the image's two trees (devkit/image_tree.py: func.py and backup_copy/ compiled as the
Dockerfile compiles them, beside the trimmed payload), `python -S -P -B` with only those two on the
path. The floor is devkit/bench/floor_func.py, copied and compiled beside func.py, under the same
fdk. Cold starts come in rounds, one of each per round in alternating order, and each round gives a
paired ratio (function / floor): the table shows their median, quartiles and range, beside the
milliseconds of both. Where taskset exists and two CPUs are free, the function and floor processes
run on one CPU and the bench with its stand-in on another, so they do not compete for one. The
stand-in for the event figures runs in a process of its own (devkit/standin/process.py). Over
HTTPS, the function and the floor trust the stand-in's CA as the image trusts certifi's
(REQUESTS_CA_BUNDLE names a hashed directory); the function runs trusting the bundle file as well,
to show what the directory saves.

The sweep section (devkit/bench/sweep_scale.py) seeds a large estate and runs one sweep of it in a
new function process, steady and then with a backlog to catch up. Its stand-in stays on threads in
the bench process, which is idle while the function sweeps and is pinned away from it: seeding its
40,000 backups across processes would add about 2 s a sweep and change no figure. Its function runs
from the checkout and the cached payload (`PYTHONPATH=project:payload`), not the read-only copy: it
times a sweep, not a cold start. Figures, not a test: the exit status is 0 whatever they are.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devkit import PROJECT
from devkit.bench import sweep_scale
from devkit.fdk_process import FdkProcess
from devkit.image_tree import PYTHON_FLAGS, ImageTree, read_only_image
from devkit.local import HOME, LocalCloudApart, local_cloud, local_cloud_apart
from devkit.payload import cached_payload
from image.trim_payload import tree_size

AWAY = "us-ashburn-1"
FLOOR = Path(__file__).resolve().parent / "floor_func.py"
FUNCTION = PROJECT / "func.py"
TEMPLATE = json.loads((PROJECT / "events" / "boot-volume-backup-end.json").read_bytes())
MB = 2**20
# Warm events are timed in alternating blocks of this many, function then floor.
WARM_BLOCK = 20


@dataclass(frozen=True)
class Pinning:
    """The CPU the function processes run on, and the CPU the bench and its stand-ins run on."""

    function_cpu: int | None
    bench_cpu: int | None
    taskset: str | None

    @property
    def launcher(self) -> tuple[str, ...]:
        """What starts a function process on its CPU: taskset, which execs the interpreter."""
        if self.taskset is None or self.function_cpu is None:
            return ()
        return (self.taskset, "-c", str(self.function_cpu))

    @property
    def standin_cpus(self) -> set[int] | None:
        """The CPUs a stand-in process runs on."""
        return None if self.bench_cpu is None else {self.bench_cpu}

    def function_process(self, env: dict[str, str], function_file: Path, python_path: str) -> FdkProcess:
        """The fdk serving any function file (the floor too) on `python_path` alone, on its CPU."""
        return FdkProcess(
            env,
            python_path=python_path,
            python_flags=PYTHON_FLAGS,
            function_file=function_file,
            launcher=self.launcher,
        )

    def apply(self) -> None:
        """Put this process (the bench driver, and any thread it starts from now on) on its CPU."""
        if self.bench_cpu is not None:
            os.sched_setaffinity(0, {self.bench_cpu})

    def describe(self) -> str:
        """What runs where, or why nothing is pinned."""
        if self.taskset is None:
            return "nothing pinned: taskset is missing"
        if self.function_cpu is None:
            return "nothing pinned: fewer than two CPUs free"
        return (
            f"function and floor processes on CPU {self.function_cpu} (taskset -c {self.function_cpu}); "
            f"the bench driver and its stand-ins on CPU {self.bench_cpu} (sched_setaffinity)"
        )


def plan_pinning() -> Pinning:
    """Two CPUs of those this process may use, when taskset can start a process on one of them."""
    cpus = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if taskset is None or len(cpus) < 2:
        return Pinning(None, None, taskset)
    return Pinning(function_cpu=cpus[1], bench_cpu=cpus[0], taskset=taskset)


# The goal for either cold start: a paired median ratio to the floor's within 5%.
COLD_START_GOAL = 1.05


@dataclass(frozen=True)
class Spread:
    """Some samples: their median, quartiles and extremes."""

    median: float
    low_quartile: float
    high_quartile: float
    least: float
    most: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Spread:
        """The spread of two or more samples."""
        low, median, high = statistics.quantiles(samples, n=4, method="inclusive")
        return cls(median, low, high, min(samples), max(samples))

    def show(self, unit: str, scale: float = 1.0, digits: int = 0) -> str:
        """`median unit (IQR q1-q3, range min-max)`, each value times `scale`."""

        def shown(value: float) -> str:
            return f"{value * scale:.{digits}f}"

        return (
            f"{shown(self.median)} {unit} (IQR {shown(self.low_quartile)}-{shown(self.high_quartile)}, "
            f"range {shown(self.least)}-{shown(self.most)})"
        )


@dataclass(frozen=True)
class Goal:
    """A figure, its goal, and how it is shown."""

    name: str
    value: float
    limit: float
    unit: str
    detail: str
    notes: tuple[str, ...] = ()

    def rows(self) -> list[str]:
        """Its line of the table, then its notes, indented."""
        met = "yes" if self.value <= self.limit else f"NO, by {self.value - self.limit:.2f} {self.unit}"
        shown = f"{self.value:.2f} {self.unit}"
        row = f"{self.name:<36} {shown:>12}   <= {self.limit:g} {self.unit:<6} {met:<14} {self.detail}"
        return [row, *(f"{'':<4}{note}" for note in self.notes)]


class Events:
    """A new source backup in the stand-in for every event, so every event makes a copy."""

    def __init__(self, cloud: LocalCloudApart) -> None:
        self._cloud = cloud

    def next(self) -> bytes:
        """Seed a backup in the home region and return the event for it."""
        data = TEMPLATE["data"]
        backup_id = self._cloud.standin.seed_backup(
            kind="boot",
            region=HOME,
            compartment_id=data["compartmentId"],
            display_name=data["resourceName"],
            freeform_tags=data["freeformTags"],
        )
        event = {**TEMPLATE, "eventID": str(uuid.uuid4()), "data": {**data, "resourceId": backup_id}}
        return json.dumps(event).encode()


def handled(process: FdkProcess, body: bytes) -> None:
    """Send one event; stop the bench if it was not copied (the figures would mean nothing)."""
    answer = process.invoke(body)
    if answer.status != 200 or json.loads(answer.body).get("status") != "copied":
        raise RuntimeError(f"not copied: {answer.status} {answer.body[:300]!r}\n{process.logs()[-3000:]}")


def cold_start(start: Callable[[], FdkProcess], body: bytes) -> float:
    """Seconds from spawning the process to the answer of its first event."""
    began = time.perf_counter()
    process = start()
    try:
        handled(process, body)
        return time.perf_counter() - began
    finally:
        process.stop()


def in_rounds(rounds: int, measures: Sequence[Callable[[], float]]) -> list[list[float]]:
    """Each measure once a round, in the order given in even rounds and reversed in odd ones."""
    samples: list[list[float]] = [[] for _ in measures]
    for round_ in range(rounds):
        order = list(enumerate(measures))
        for index, measure in order if round_ % 2 == 0 else reversed(order):
            samples[index].append(measure())
    return samples


def paired(ours: Sequence[float], theirs: Sequence[float]) -> Spread:
    """The spread of the per-round ratios ours / theirs."""
    return Spread.of([mine / other for mine, other in zip(ours, theirs, strict=True)])


def per_event(process: FdkProcess, events: Events, count: int) -> float:
    """Mean seconds per event over `count` sequential events (seeding not counted)."""
    bodies = [events.next() for _ in range(count)]
    began = time.perf_counter()
    for body in bodies:
        handled(process, body)
    return (time.perf_counter() - began) / count


def machine() -> str:
    """CPUs, CPU model, Python."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def header(rounds: int, events: bool, pinning: Pinning) -> list[str]:
    """When, on what, how many rounds, and what ran where."""
    lines = [
        f"backup-copy bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"  machine: {machine()}",
        f"  pinning: {pinning.describe()}",
    ]
    if events:
        lines += [
            f"  rounds:  {rounds} cold starts each of the function and the floor, in alternating order; "
            "ratios paired per round",
            "  stand-in: a process of its own on 127.0.0.1 for the event figures; on threads in the "
            "bench for the sweeps",
        ]
    return [*lines, "  1 MB = 2^20 bytes"]


def copy_state(image: ImageTree) -> str:
    """Where the read-only copy is, whether it is read-only, and how much bytecode it holds."""
    state = "read-only (no write bits)" if image.read_only() else "WRITABLE"
    return (
        f"{image.function.parent}/{{function,python}}: {state}, {image.compiled:,} .pyc, "
        f"run with python {' '.join(PYTHON_FLAGS)}, PYTHONPATH=function:python"
    )


# Three destinations for the latency figure; the stand-in serves the source region besides them.
LATENCY_DESTINATIONS = ("us-ashburn-1", "eu-frankfurt-1", "uk-london-1")
# A round trip to OCI from a function, roughly: every stand-in answer waits this long.
ROUND_TRIP = 0.050


def warm_latency(image: ImageTree, events_each: int, pinning: Pinning) -> Goal:
    """Median warm event with 50 ms round trips, three destinations against one (goal: within 1.25x)."""
    function_file = image.function / FUNCTION.name
    with (
        tempfile.TemporaryDirectory(prefix="backup-copy-bench-latency-") as directory,
        local_cloud_apart(
            Path(directory),
            regions=(HOME, *LATENCY_DESTINATIONS),
            copy_limits=False,
            cpus=pinning.standin_cpus,
        ) as cloud,
    ):
        cloud.standin.set_latency(ROUND_TRIP)
        events = Events(cloud)
        spreads: list[Spread] = []
        for destinations in (LATENCY_DESTINATIONS[:1], LATENCY_DESTINATIONS):
            env = cloud.function_env(",".join(destinations))
            process = pinning.function_process(env, function_file, image.python_path).start()
            try:
                handled(process, events.next())  # the clients are built: the rest are warm
                spreads.append(Spread.of([per_event(process, events, 1) for _ in range(events_each)]))
            finally:
                process.stop()
    one, three = spreads
    return Goal(
        "warm event, 3 destinations vs 1",
        three.median / one.median,
        1.25,
        "x",
        f"{ROUND_TRIP * 1000:.0f} ms per round trip, medians of {events_each} warm boot events each",
        (
            f"3 destinations {three.show('ms', 1000)}",
            f"1 destination  {one.show('ms', 1000)}",
        ),
    )


def trust_load_ms(location: Path, times: int = 20) -> float:
    """Median ms to make a client TLS context and load a CA bundle file or hashed directory into it.

    The SDK's vendored requests passes REQUESTS_CA_BUNDLE with every new connection, so urllib3 makes
    a context (as here, without the system's defaults) and loads it per connection: a file is parsed
    whole; a directory (OpenSSL's capath) only later gives each handshake the issuer it looks up.
    """
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if location.is_dir():
            context.load_verify_locations(capath=location)
        else:
            context.load_verify_locations(cafile=location)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def tls_cold_start(image: ImageTree, rounds: int, pinning: Pinning) -> Goal:
    """Cold start over HTTPS (throwaway CA, persistent connections) against the floor, and against HTTP.

    The function and the floor trust the stand-in's CA as the image trusts certifi's:
    REQUESTS_CA_BUNDLE names a hashed directory (the stand-in's default, `trust_env`). The function
    also runs trusting the bundle file of the same certificates, the SDK's default form, for the saving.
    """
    function_file, floor_file, path = (
        image.function / FUNCTION.name,
        image.function / FLOOR.name,
        image.python_path,
    )
    with (
        tempfile.TemporaryDirectory(prefix="backup-copy-bench-tls-") as directory,
        local_cloud_apart(Path(directory) / "http", copy_limits=False, cpus=pinning.standin_cpus) as plain,
        local_cloud_apart(
            Path(directory) / "https", copy_limits=False, tls=True, cpus=pinning.standin_cpus
        ) as secure,
    ):
        plain_events, secure_events = Events(plain), Events(secure)
        connections: list[int] = []
        bundle_file, ca_directory = secure.standin.ca_bundle, secure.standin.ca_directory
        assert bundle_file is not None  # noqa: S101  # served with tls=True
        assert ca_directory is not None  # noqa: S101
        load_file_ms, load_directory_ms = trust_load_ms(bundle_file), trust_load_ms(ca_directory)

        def function(cloud: LocalCloudApart, **trust: str) -> Callable[[], FdkProcess]:
            return lambda: pinning.function_process(
                cloud.function_env(AWAY, **trust), function_file, path
            ).start()

        with_file = function(secure, REQUESTS_CA_BUNDLE=str(bundle_file))

        def floor() -> FdkProcess:
            env = secure.function_env(AWAY, FLOOR_REQUESTS="floor")
            return pinning.function_process(env, floor_file, path).start()

        def counted() -> float:
            before = secure.standin.connections_accepted
            seconds = cold_start(function(secure), secure_events.next())
            connections.append(secure.standin.connections_accepted - before)
            return seconds

        # Unmeasured first runs: the page cache then holds all four.
        cold_start(function(plain), plain_events.next())
        cold_start(function(secure), secure_events.next())
        cold_start(with_file, secure_events.next())
        cold_start(floor, secure_events.next())
        https, https_file, http, bare = in_rounds(
            rounds,
            [
                counted,
                lambda: cold_start(with_file, secure_events.next()),
                lambda: cold_start(function(plain), plain_events.next()),
                lambda: cold_start(floor, secure_events.next()),
            ],
        )
    ratio = paired(https, bare)
    saving = Spread.of([file - directory for file, directory in zip(https_file, https, strict=True)])
    return Goal(
        "cold start over HTTPS, vs floor",
        ratio.median,
        COLD_START_GOAL,
        "x",
        f"paired per round, {rounds} rounds: {ratio.show('x', digits=2)}",
        (
            "function and floor trust the CA as the image does: REQUESTS_CA_BUNDLE names a hashed directory",
            f"function over HTTPS, CA directory {Spread.of(https).show('ms', 1000)}",
            f"function over HTTPS, bundle file  {Spread.of(https_file).show('ms', 1000)}",
            f"function over HTTP                {Spread.of(http).show('ms', 1000)}",
            f"floor over HTTPS, CA directory    {Spread.of(bare).show('ms', 1000)}",
            f"bundle file minus CA directory, paired per round: {saving.show('ms', 1000)}",
            f"{statistics.median(connections):.0f} TLS connections per cold start, each loading its trust "
            f"anew: the bundle file {load_file_ms:.1f} ms, the directory {load_directory_ms:.2f} ms "
            "(then each handshake reads the one issuer it needs)",
        ),
    )


def run(rounds: int, burst: int, warm: int, pinning: Pinning) -> list[Goal]:
    """Measure the event figures, from a read-only copy of the image's trees."""
    payload_mb = tree_size(cached_payload()) / MB
    with read_only_image(extras=[FLOOR]) as image:
        print(f"  payload copy: {copy_state(image)}", flush=True)
        goals = events_figures(image, rounds, burst, warm, pinning)
        still = "still read-only" if image.read_only() else "WRITABLE"
        after = "unchanged" if image.unchanged() else "CHANGED"
        copy_note = f"its read-only copy after the run: {still}, {after} ({image.compiled:,} .pyc)"
    return [
        Goal("payload (trimmed /python)", payload_mb, 80, "MB", f"{cached_payload()}", (copy_note,)),
        *goals,
    ]


def events_figures(image: ImageTree, rounds: int, burst: int, warm: int, pinning: Pinning) -> list[Goal]:
    """Cold start, peak RSS, warm overhead, warm latency and the cold start over HTTPS."""
    function_file, floor_file = image.function / FUNCTION.name, image.function / FLOOR.name
    with (
        tempfile.TemporaryDirectory(prefix="backup-copy-bench-") as directory,
        # Hundreds of copies of one boot volume in flight: OCI's copy limits would queue all but the
        # first. The bench times the function's own work on copies OCI accepts; the tests hold the limits.
        local_cloud_apart(Path(directory), copy_limits=False, cpus=pinning.standin_cpus) as cloud,
    ):
        events = Events(cloud)

        def function() -> FdkProcess:
            return pinning.function_process(
                cloud.function_env(AWAY), function_file, image.python_path
            ).start()

        def floor(requests: str = "floor") -> FdkProcess:
            env = cloud.function_env(AWAY, FLOOR_REQUESTS=requests)
            return pinning.function_process(env, floor_file, image.python_path).start()

        # One of each first, unmeasured: the page cache then holds both for every measured round.
        cold_start(function, events.next())
        cold_start(floor, events.next())
        ours, bare = in_rounds(
            rounds,
            [lambda: cold_start(function, events.next()), lambda: cold_start(floor, events.next())],
        )

        warm_function, warm_floor = function(), floor("same")
        try:
            for _ in range(burst):
                handled(warm_function, events.next())
            peak = warm_function.peak_rss() / MB
            handled(warm_floor, events.next())
            # Interleaved blocks: the stand-in slows as it fills, and that drift must fall on both.
            ours_total = bare_total = 0.0
            blocks = max(1, warm // WARM_BLOCK)
            for _ in range(blocks):
                ours_total += per_event(warm_function, events, WARM_BLOCK)
                bare_total += per_event(warm_floor, events, WARM_BLOCK)
            ours_warm, bare_warm = ours_total / blocks, bare_total / blocks
            warm = blocks * WARM_BLOCK
        finally:
            warm_function.stop()
            warm_floor.stop()

    latency = warm_latency(image, max(5, min(warm, 30)), pinning)
    over_tls = tls_cold_start(image, rounds, pinning)
    ratio = paired(ours, bare)
    return [
        Goal(
            "cold start, to first event handled",
            ratio.median,
            COLD_START_GOAL,
            "x",
            f"paired per round, {rounds} rounds: {ratio.show('x', digits=2)}",
            (
                f"function {Spread.of(ours).show('ms', 1000)}",
                f"floor    {Spread.of(bare).show('ms', 1000)}",
            ),
        ),
        Goal("peak RSS after a burst", peak, 100, "MB", f"VmHWM after {burst} events, fdk process"),
        Goal(
            "warm overhead per event",
            (ours_warm - bare_warm) * 1000,
            5,
            "ms",
            f"function {ours_warm * 1000:.2f} ms/event, the same requests bare {bare_warm * 1000:.2f} ms "
            f"({warm} sequential events each, in alternating blocks of {WARM_BLOCK})",
        ),
        latency,
        over_tls,
    ]


def sweeps(
    volumes: int, days: int, catch_up_days: int, wide_volumes: int, pinning: Pinning
) -> list[sweep_scale.SweepFigures]:
    """The steady estate, the same with a backlog, and a wide one of a backup per volume to three regions.

    Each sweep in a stand-in and process of its own.
    """
    path = f"{PROJECT}:{cached_payload()}"
    figures = []
    two, three = sweep_scale.DESTINATIONS, sweep_scale.WIDE_DESTINATIONS
    variants: list[tuple[str, int, int, int, tuple[str, ...], float | None]] = [
        ("steady sweep", volumes, days, 0, two, None),
        (f"catch-up sweep ({catch_up_days} days uncopied)", volumes, days, catch_up_days, two, None),
        ("steady sweep, wide", wide_volumes, 1, 0, three, sweep_scale.WIDE_CPU_GOAL_SECONDS),
    ]
    for name, volumes_, days_, uncopied, destinations, cpu_goal in variants:
        with (
            tempfile.TemporaryDirectory(prefix="backup-copy-bench-") as directory,
            local_cloud(Path(directory), regions=(HOME, *destinations)) as cloud,
        ):
            figures.append(
                sweep_scale.measure(
                    name,
                    cloud,
                    lambda env: pinning.function_process(env, FUNCTION, path).start(),
                    volumes=volumes_,
                    days=days_,
                    uncopied_days=uncopied,
                    destinations=destinations,
                    cpu_goal_seconds=cpu_goal,
                )
            )
    return figures


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table; this process runs on the bench's CPU from here on."""
    parser = argparse.ArgumentParser(prog="python -m devkit.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="cold starts of each, alternating")
    parser.add_argument("--burst", type=int, default=50, help="events before reading peak RSS")
    parser.add_argument("--warm", type=int, default=200, help="sequential warm events timed")
    parser.add_argument("--only", choices=("events", "sweep"), help="one section of the two")
    parser.add_argument("--volumes", type=int, default=150, help="boot volumes in the swept estate")
    parser.add_argument("--days", type=int, default=90, help="daily backups of each (RETENTION_DAYS too)")
    parser.add_argument("--catch-up-days", type=int, default=20, help="newest days left uncopied to catch up")
    parser.add_argument(
        "--wide-volumes", type=int, default=3000, help="volumes of the wide sweep (a backup each, 3 regions)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds: two or more, for a spread")
    # Planned before the bench pins itself, which narrows what sched_getaffinity shows.
    pinning = plan_pinning()
    pinning.apply()
    print("\n".join(header(args.rounds, events=args.only != "sweep", pinning=pinning)), flush=True)
    goals = [] if args.only == "sweep" else run(args.rounds, args.burst, args.warm, pinning)
    swept = (
        []
        if args.only == "events"
        else sweeps(args.volumes, args.days, args.catch_up_days, args.wide_volumes, pinning)
    )
    if goals:
        print(f"\n{'figure':<36} {'measured':>12}   {'goal':<9} {'met':<14} detail")
        for goal in goals:
            print("\n".join(goal.rows()))
        met = sum(goal.value <= goal.limit for goal in goals)
        print(f"\n{met} of {len(goals)} goals met")
    for figures in swept:
        print()
        print("\n".join(figures.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
