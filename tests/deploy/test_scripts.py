"""commands.sh and teardown.sh: real CLI commands and options, and what running them does (on a fake CLI)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import oci
import pytest

from deploy.config import EXAMPLE_ENVIRONMENT
from deploy.render import APPLICATION_MARKER, FUNCTION_MARKER, Rendered, main
from tests.deploy.cli_reference import CHOICES, FN_COMMANDS, GLOBAL_OPTIONS, OPTIONS, REQUIRED

PROJECT = Path(__file__).resolve().parents[2]
# What commands.sh makes, in the order it must make it: each piece needs the ones before it.
CREATION_ORDER = [
    "ons topic",
    "ons subscription",
    "iam dynamic-group",
    "iam policy",
    "fn application",
    "logging log-group",
    "logging log",
    "fn function",
    "events rule",
    "resource-scheduler schedule",
    "iam policy",
    "monitoring alarm",
]


def program_calls(script: str, program: str = "oci") -> list[list[str]]:
    """Every call of `program` in a script, as the words the shell hands it (variables unexpanded)."""
    calls = []
    for line in script.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in re.finditer(rf"(?:^|\$\(|\bthen |; |&& |\|\| |\{{ )\s*({program} )", line):
            lexer = shlex.shlex(line[match.start(1) :], posix=True, punctuation_chars=";&|()<>")
            lexer.whitespace_split = True
            words = []
            for token in lexer:
                if token in {")", ";", "&&", "||", "|", ">", "&"}:
                    break
                words.append(token)
            calls.append(words)
    return calls


def parsed(call: list[str]) -> tuple[str, dict[str, str | None]]:
    """The command (`ons topic list`) and its options, each with its value (None for a flag)."""
    # Every command the kit runs is three words: `ons topic list`, `os ns get`.
    command, rest = " ".join(call[1:4]), call[4:]
    options: dict[str, str | None] = {}
    index = 0
    while index < len(rest):
        assert rest[index].startswith("--"), f"{command}: stray argument {rest[index]!r}"
        name = rest[index][2:]
        takes_value = index + 1 < len(rest) and not rest[index + 1].startswith("--")
        options[name] = rest[index + 1] if takes_value else None
        index += 2 if takes_value else 1
    return command, options


@pytest.fixture
def scripts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """The example's commands.sh and teardown.sh."""
    assert main(["--example", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    return {
        name: (tmp_path / "out" / name).read_text(encoding="utf-8") for name in ("commands.sh", "teardown.sh")
    }


@pytest.mark.parametrize("name", ["commands.sh", "teardown.sh"])
def test_every_oci_call_is_a_real_command_with_real_options(scripts: dict[str, str], name: str) -> None:
    calls = program_calls(scripts[name])

    assert len(calls) > 20
    for call in calls:
        command, options = parsed(call)
        assert command in OPTIONS, f"not an oci-cli 3.95.1 command: {command}"
        unknown = set(options) - OPTIONS[command] - GLOBAL_OPTIONS
        assert not unknown, f"{command}: no such option {unknown}"
        assert REQUIRED.get(command, frozenset()) <= set(options), f"{command}: a required option is missing"
        for option, value in options.items():
            allowed = CHOICES.get((command, option))
            assert allowed is None or value in allowed, f"{command} --{option} {value}"
        assert "region" in options, f"{command}: every call names its region"


def test_every_fn_call_is_a_real_subcommand_with_real_flags(scripts: dict[str, str]) -> None:
    fn_calls = program_calls(scripts["commands.sh"], "fn")

    assert len(fn_calls) >= 8
    for call in fn_calls:
        command = next(name for name in FN_COMMANDS if call[1 : 1 + len(name.split())] == name.split())
        flags = {word[2:] for word in call if word.startswith("--")}
        assert flags <= FN_COMMANDS[command], call
    assert ["fn", "create", "context", "backup-copy-us-phoenix-1", "--provider", "oracle"] in fn_calls
    assert ["fn", "deploy", "--app", "backup-copy", "--no-bump"] in fn_calls


@pytest.mark.parametrize("name", ["commands.sh", "teardown.sh"])
def test_the_scripts_are_valid_bash(scripts: dict[str, str], name: str, tmp_path: Path) -> None:
    script = tmp_path / name
    script.write_text(scripts[name], encoding="utf-8")

    checked = subprocess.run(  # noqa: S603  # the script just rendered, parsed, not run
        ["bash", "-n", str(script)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stderr


def test_every_create_is_looked_up_first(scripts: dict[str, str]) -> None:
    lines = scripts["commands.sh"].splitlines()
    for number, line in enumerate(lines):
        creating = re.search(r"\boci (\S+ \S+) create\b", line)
        if creating is None:
            continue
        looked_up = [earlier for earlier in lines[:number] if f"oci {creating.group(1)} list" in earlier]
        assert looked_up, f"line {number + 1} creates without looking up first: {line[:80]}"


# --- Running them, on a fake CLI ------------------------------------------------------------


class FakeCloud:
    """The rendered scripts run by bash, with `oci` and `fn` answered by tests/deploy/fake_cli.py."""

    def __init__(self, root: Path, environ: Mapping[str, str] = EXAMPLE_ENVIRONMENT) -> None:
        self.root, self.out, self.state = root, root / "out", root / "state.json"
        bin_dir = root / "bin"
        bin_dir.mkdir()
        for program in ("oci", "fn"):
            shim = bin_dir / program
            shim.write_text(
                f"#!{sys.executable} -S\nimport sys\nsys.path.insert(0, {str(PROJECT)!r})\n"
                f"from tests.deploy.fake_cli import main\nsys.exit(main({program!r}, sys.argv[1:]))\n"
            )
            shim.chmod(0o755)
        self.path = f"{bin_dir}:/usr/bin:/bin"
        assert main(["--out", str(self.out)], environ) == 0

    def seed(self, ocid: str, kind: str, key: list[str]) -> None:
        """A piece that exists before the kit runs."""
        state = json.loads(self.state.read_text()) if self.state.exists() else {}
        state.setdefault("pieces", {})[ocid] = {"kind": kind, "key": key, "options": {}}
        self.state.write_text(json.dumps(state))

    def run(self, name: str, *args: str, fail: str = "", stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": self.path,
            "FAKE_CLI_STATE": str(self.state),
            "FAKE_CLI_FAIL": fail,
            "HOME": str(self.root),
        }
        return subprocess.run(  # noqa: S603  # the script just rendered, under bash
            ["bash", str(self.out / name), *args],  # noqa: S607
            cwd=self.root,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )

    @property
    def current(self) -> dict[str, Any]:
        return dict(json.loads(self.state.read_text()))

    def pieces(self, kind: str | None = None) -> dict[str, Any]:
        return {o: p for o, p in self.current["pieces"].items() if kind in (None, p["kind"])}

    def calls(self, verb: str) -> list[str]:
        """The commands called with `verb` (`ons topic` for `oci ons topic create`), in order."""
        return [call[1].rsplit(" ", 1)[0] for call in self.current["calls"] if call[1].endswith(f" {verb}")]

    def kinds(self, verb: str) -> list[str]:
        """`calls(verb)` with repeats in a row counted once: the order of the steps."""
        called = self.calls(verb)
        return [kind for index, kind in enumerate(called) if index == 0 or called[index - 1] != kind]


@pytest.fixture
def fake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> FakeCloud:
    made = FakeCloud(tmp_path)
    capsys.readouterr()
    return made


def test_commands_make_every_piece_in_order(fake: FakeCloud) -> None:
    done = fake.run("commands.sh")

    assert done.returncode == 0, done.stderr
    assert fake.kinds("create") == CREATION_ORDER[:7] + CREATION_ORDER[8:]  # fn deploy makes the function
    assert [len(fake.pieces(kind)) for kind in ("iam policy", "monitoring alarm", "fn function")] == [5, 3, 1]
    (topic,) = fake.pieces("ons topic")
    (function,) = fake.pieces("fn function")
    assert fake.current["config"]["NOTIFICATION_TOPIC_ID"] == topic
    assert (
        fake.current["config"]["SWEEP_COMPARTMENT_IDS"] == EXAMPLE_ENVIRONMENT["DEPLOY_BACKUP_COMPARTMENT_ID"]
    )
    (schedule,) = fake.pieces("resource-scheduler schedule").values()
    assert json.loads(schedule["options"]["resources"]) == [
        {"id": function, "parameters": [{"parameterType": "BODY", "value": {"action": "sweep"}}]}
    ]
    (scheduler,) = [p for p in fake.pieces("iam policy").values() if p["key"][1] == "backup-copy-scheduler"]
    (schedule_id,) = fake.pieces("resource-scheduler schedule")
    assert all(f"request.principal.id = '{schedule_id}'" in s for s in scheduler["options"]["statements"])
    assert "Confirm the subscription" in done.stdout


def test_a_second_run_after_a_failure_makes_nothing_twice_and_updates_what_follows_the_config(
    fake: FakeCloud,
) -> None:
    first = fake.run("commands.sh", fail="oci resource-scheduler schedule create")
    assert first.returncode != 0
    assert "injected" in first.stderr
    made_before = set(fake.pieces())

    second = fake.run("commands.sh")

    assert second.returncode == 0, second.stderr
    assert made_before < set(fake.pieces())
    kinds = [piece["kind"] for piece in fake.pieces().values()]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {
        "ons topic": 1,
        "ons subscription": 1,
        "iam dynamic-group": 1,
        "iam policy": 5,
        "fn application": 1,
        "logging log-group": 1,
        "logging log": 1,
        "fn function": 1,
        "events rule": 1,
        "resource-scheduler schedule": 1,
        "monitoring alarm": 3,
    }
    # The pieces whose content follows the configuration were brought up to date on the re-run.
    assert fake.calls("update").count("iam policy") == 4
    assert {"iam dynamic-group", "events rule"} <= set(fake.calls("update"))
    third = fake.run("commands.sh")
    assert third.returncode == 0, third.stderr
    assert len(fake.pieces()) == len(kinds)


def test_teardown_deletes_what_commands_made_newest_first(fake: FakeCloud) -> None:
    assert fake.run("commands.sh").returncode == 0

    done = fake.run("teardown.sh", "--yes")

    assert done.returncode == 0, done.stderr
    assert fake.pieces() == {}
    deleted = fake.kinds("delete")
    # The subscription goes with its topic; the function before its logs and its application.
    expected = [kind for kind in reversed(CREATION_ORDER) if kind != "ons subscription"]
    expected.insert(expected.index("ons topic"), "ons subscription")
    fn_first = ["fn function", "logging log", "logging log-group", "fn application"]
    expected = [k for k in expected if k not in fn_first]
    expected[expected.index("events rule") + 1 : expected.index("events rule") + 1] = fn_first
    assert deleted == expected
    again = fake.run("teardown.sh", "--yes")
    assert again.returncode == 0, again.stderr
    assert fake.kinds("delete") == deleted


def test_teardown_asks_before_it_deletes_anything(fake: FakeCloud) -> None:
    assert fake.run("commands.sh").returncode == 0
    before = fake.pieces()

    refused = fake.run("teardown.sh", stdin="no\n")

    assert refused.returncode == 1
    assert "Nothing deleted" in refused.stdout
    assert fake.pieces() == before
    assert fake.run("teardown.sh", stdin="backup-copy\n").returncode == 0
    assert fake.pieces() == {}


def test_a_given_topic_is_used_and_never_created_or_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = "ocid1.onstopic.oc1.phx.aaaaaaaaexistingtopicforbackupcopy0001"
    compartment = "ocid1.compartment.oc1..aaaaaaaaexampleopscompartment0001"
    environ = {
        **EXAMPLE_ENVIRONMENT,
        "NOTIFICATION_TOPIC_ID": topic,
        "DEPLOY_TOPIC_COMPARTMENT_ID": compartment,
    }
    environ.pop("DEPLOY_NOTIFY_EMAIL")
    fake = FakeCloud(tmp_path, environ)
    capsys.readouterr()
    fake.seed(topic, "ons topic", [compartment, "ops-notices"])

    assert fake.run("commands.sh").returncode == 0
    assert fake.current["config"]["NOTIFICATION_TOPIC_ID"] == topic
    assert "ons topic" not in fake.calls("create")
    assert fake.run("teardown.sh", "--yes").returncode == 0

    assert set(fake.pieces()) == {topic}


# --- The pieces' shapes, against the SDK's models --------------------------------------------


def test_the_schedule_starts_the_function_with_the_sweep_body(rendered: Rendered) -> None:
    function_id = "ocid1.fnfunc.oc1.phx.aaaaaaaaexamplefunction0001"
    text = rendered.schedule_resources.replace(FUNCTION_MARKER, function_id)
    client = _client(oci.resource_scheduler.models.resource_scheduler_type_mapping)

    (resource,) = client.deserialize_response_data(text.encode(), "list[Resource]")

    assert resource.id == function_id
    (parameter,) = resource.parameters
    assert isinstance(parameter, oci.resource_scheduler.models.BodyParameter)
    assert parameter.value == {"action": "sweep"}


def test_the_log_is_the_applications_invoke_category(rendered: Rendered, example: Any) -> None:
    application = "ocid1.fnapp.oc1.phx.aaaaaaaaexampleapplication0001"
    text = rendered.log_configuration.replace(APPLICATION_MARKER, application)
    client = _client(oci.logging.models.logging_type_mapping)

    configuration = client.deserialize_response_data(text.encode(), "Configuration")

    assert configuration.compartment_id == example.function_compartment_id
    assert isinstance(configuration.source, oci.logging.models.OciService)
    assert (configuration.source.service, configuration.source.resource, configuration.source.category) == (
        "functions",
        application,
        "invoke",
    )


# metric[interval]{dimension="value"}.statistic() operator number (OCI, Monitoring Query Language).
MQL = re.compile(
    r"(?P<metric>[A-Za-z][A-Za-z0-9._$-]*)\[(?P<interval>\d+[mhd])\](?:\{[^}]*\})?"
    r"(?:\.(?:grouping|groupBy)\([^)]*\))?\.(?P<statistic>max|min|sum|mean|count|rate|absent)\(\)"
    r"(?: (?P<operator>[<>]=?|==|!=) (?P<threshold>-?\d+(?:\.\d+)?))?"
)


def test_each_alarm_is_mql_on_a_metric_the_sweep_posts(rendered: Rendered) -> None:
    from backup_copy.metrics import COPIES_FAILED, COPIES_MADE, RPO_AGE

    shapes = {}
    for alarm in rendered.alarms:
        match = MQL.fullmatch(alarm.query)
        assert match, alarm.query
        shapes[match["metric"]] = (match["statistic"], match["operator"], match["threshold"])
        assert alarm.severity in ("CRITICAL", "ERROR", "WARNING", "INFO")

    assert shapes == {
        RPO_AGE: ("max", ">", "24"),
        COPIES_FAILED: ("sum", ">", "0"),
        COPIES_MADE: ("absent", None, None),
    }


def _client(models: Mapping[str, Any]) -> Any:
    """The SDK's own deserialiser for these models (the client sends nothing)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    signer = oci.auth.signers.SecurityTokenSigner("unused", rsa.generate_private_key(65537, 2048))
    return oci.base_client.BaseClient("probe", {}, signer, models, service_endpoint="http://127.0.0.1")
