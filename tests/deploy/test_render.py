"""The renderer: the same settings the function reads, every placeholder filled, commands in order."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from oci_lexer_parser import parse_dynamic_group_matching_rules

from backup_copy.errors import ConfigurationError
from deploy.config import EXAMPLE_ENVIRONMENT, DeployConfig, load_deploy_config
from deploy.render import TEMPLATES, Rendered, main, render, render_template


def test_the_dynamic_group_rule_parses_and_names_the_function_compartment(
    example: DeployConfig, rendered: Rendered
) -> None:
    payload = parse_dynamic_group_matching_rules(rendered.dynamic_group_rule)

    assert isinstance(payload, dict)
    (rule,) = payload["rules"]
    clauses = {item["node"]["lhs"]: item["node"]["rhs"]["value"] for item in rule["expr"]["items"]}
    assert rule["expr"]["mode"] == "all"
    assert clauses == {"resource.type": "fnfunc", "resource.compartment.id": example.function_compartment_id}


def test_every_template_placeholder_is_filled(rendered: Rendered) -> None:
    texts = [rendered.dynamic_group_rule, rendered.rule_condition, *rendered.statements]

    assert not [text for text in texts if "$" in text]


def test_a_missing_placeholder_value_refuses_to_render() -> None:
    with pytest.raises(KeyError, match="key_id"):
        render_template("policy-key.txt", dynamic_group="dg", region="r", key_compartment_id="c")


def test_templates_are_the_ones_rendered() -> None:
    assert {path.name for path in TEMPLATES.iterdir()} == {
        "dynamic-group-rule.txt",
        "policy-source.txt",
        "policy-destination.txt",
        "policy-topic.txt",
        "policy-key.txt",
        "policy-events.txt",
        "policy-retention.txt",
        "policy-tags.txt",
        "policy-metrics.txt",
        "policy-scheduler.txt",
        "event-rule-condition.json",
        "log-configuration.json",
        "schedule-resources.json",
    }


def test_the_readme_has_a_row_for_every_template() -> None:
    readme = (TEMPLATES.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## What gets created") :].split("\n## ", 1)[0]
    rows = {match for line in table.splitlines() for match in re.findall(r"^\| `([^`]+)`", line)}

    assert rows == {path.name for path in TEMPLATES.iterdir()}


def test_a_function_ocid_narrows_the_dynamic_group_to_that_function() -> None:
    function_id = "ocid1.fnfunc.oc1.phx.aaaaaaaaexamplefunctionbackupcopy0001"
    config = load_deploy_config({**EXAMPLE_ENVIRONMENT, "DEPLOY_FUNCTION_ID": function_id})
    payload = parse_dynamic_group_matching_rules(render(config).dynamic_group_rule)

    assert isinstance(payload, dict)
    (rule,) = payload["rules"]
    clauses = {item["node"]["lhs"]: item["node"]["rhs"]["value"] for item in rule["expr"]["items"]}
    assert clauses == {"resource.type": "fnfunc", "resource.id": function_id}


def test_the_example_writes_every_piece_and_prints_the_commands_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--example", "--out", str(tmp_path)]) == 0

    printed = capsys.readouterr().out
    assert printed == (tmp_path / "commands.sh").read_text(encoding="utf-8")
    steps = [
        "oci ons topic create",
        "oci ons subscription create",
        "oci iam dynamic-group create",
        "oci iam policy create",
        "oci fn application create",
        "oci logging log-group create",
        "oci logging log create",
        "fn create context backup-copy-us-phoenix-1 --provider oracle",
        "fn deploy --app backup-copy",
        "fn config function backup-copy backup-copy DESTINATION_REGIONS us-ashburn-1,eu-frankfurt-1",
        'fn config function backup-copy backup-copy NOTIFICATION_TOPIC_ID "$TOPIC_ID"',
        "fn config function backup-copy backup-copy DESTINATION_KMS_KEY_IDS "
        + EXAMPLE_ENVIRONMENT["DESTINATION_KMS_KEY_IDS"],
        "oci events rule create",
        "oci resource-scheduler schedule create",
        "--name backup-copy-scheduler",
        "oci monitoring alarm create",
    ]
    positions = [printed.index(step) for step in steps]
    assert positions == sorted(positions)
    for policy_file in {path.name for path in tmp_path.glob("policy-*.json")}:
        statements = json.loads((tmp_path / policy_file).read_text(encoding="utf-8"))
        assert statements
        assert all(statement.startswith("Allow ") for statement in statements)
    assert {path.name for path in tmp_path.iterdir()} == {
        "commands.sh",
        "teardown.sh",
        "dynamic-group-rule.txt",
        "event-rule-condition.json",
        "policy-backup-copy-backups.json",
        "policy-backup-copy-topic-events-metrics.json",
        "policy-backup-copy-keys.json",
        "policy-backup-copy-tags.json",
        "policy-backup-copy-scheduler.json",
    }
    tenancy = EXAMPLE_ENVIRONMENT["DEPLOY_TENANCY_ID"]
    assert f"--compartment-id {tenancy} --name backup-copy-tags " in printed


def test_the_environment_drives_what_is_granted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ = {
        **{k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DESTINATION_KMS_KEY_IDS"},
        "DESTINATION_REGIONS": "eu-frankfurt-1",
        "DRY_RUN": "true",
        "REQUIRED_TAG": "backup-dr=true",
        "SOURCE_TYPES": "scheduled",
    }

    assert main(["--out", str(tmp_path), "--dynamic-group", "copier"], environ) == 0

    printed = capsys.readouterr().out
    statements = json.loads((tmp_path / "policy-copier-backups.json").read_text(encoding="utf-8"))
    assert all(s.startswith("Allow dynamic-group copier ") for s in statements)
    assert not any("'iad'" in s for s in statements)
    assert any("'fra'" in s for s in statements)
    assert "DESTINATION_KMS_KEY_IDS" not in printed
    assert "fn config function backup-copy backup-copy DRY_RUN true" in printed
    assert "fn config function backup-copy backup-copy REQUIRED_TAG backup-dr=true" in printed
    assert "fn config function backup-copy backup-copy SOURCE_TYPES SCHEDULED" in printed
    assert " COMPARTMENT_IDS " not in printed
    assert not (tmp_path / "policy-copier-keys.json").exists()


def test_a_missing_deployment_fact_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ = {k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DEPLOY_SUBNET_ID"}

    assert main(["--out", str(tmp_path)], environ) == 2

    assert "DEPLOY_SUBNET_ID: is required but not set" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_bad_function_setting_is_refused_as_the_function_would() -> None:
    with pytest.raises(ConfigurationError, match="DESTINATION_REGIONS"):
        load_deploy_config({**EXAMPLE_ENVIRONMENT, "DESTINATION_REGIONS": "nowhere-1"})


def test_the_source_region_cannot_be_a_destination() -> None:
    with pytest.raises(ConfigurationError, match="source region us-phoenix-1"):
        load_deploy_config(
            {
                **EXAMPLE_ENVIRONMENT,
                "DESTINATION_REGIONS": "us-phoenix-1,us-ashburn-1",
                "DESTINATION_KMS_KEY_IDS": "",
            }
        )


def test_reading_the_settings_leaves_the_process_environment_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESTINATION_REGIONS", "ap-tokyo-1")
    monkeypatch.delenv("NOTIFICATION_TOPIC_ID", raising=False)

    config = load_deploy_config(EXAMPLE_ENVIRONMENT)

    assert config.settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")
    assert os.environ["DESTINATION_REGIONS"] == "ap-tokyo-1"
    assert "NOTIFICATION_TOPIC_ID" not in os.environ


def test_the_tenancy_is_required_and_must_be_a_tenancy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DEPLOY_TENANCY_ID"}

    assert main(["--out", str(tmp_path)], environ) == 2
    assert "DEPLOY_TENANCY_ID: is required but not set" in capsys.readouterr().err
    with pytest.raises(ConfigurationError, match="DEPLOY_TENANCY_ID: a tenancy OCID"):
        load_deploy_config(
            {**environ, "DEPLOY_TENANCY_ID": EXAMPLE_ENVIRONMENT["DEPLOY_BACKUP_COMPARTMENT_ID"]}
        )


@pytest.mark.parametrize("name", ["Oracle Tags", "Oracle.Tags", "O'Brien", "x" * 101])
def test_a_tag_namespace_name_oci_would_refuse_is_named(name: str) -> None:
    with pytest.raises(ConfigurationError, match=r"DEPLOY_TAG_NAMESPACES: .* is not a tag namespace name"):
        load_deploy_config({**EXAMPLE_ENVIRONMENT, "DEPLOY_TAG_NAMESPACES": f"Operations,{name}"})


def test_tag_namespaces_are_listed_once_whatever_their_case() -> None:
    config = load_deploy_config(
        {**EXAMPLE_ENVIRONMENT, "DEPLOY_TAG_NAMESPACES": " Oracle-Tags, Operations,,oracle-tags "}
    )

    assert config.tag_namespaces == ("Oracle-Tags", "Operations")


def test_the_tag_namespaces_flag_overrides_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--example", "--out", str(tmp_path), "--tag-namespaces", "Finance"]) == 0

    capsys.readouterr()
    (statement,) = json.loads((tmp_path / "policy-backup-copy-tags.json").read_text(encoding="utf-8"))
    assert statement.endswith("in tenancy where any {target.tag-namespace.name = 'Finance'}")


def test_only_the_keys_nothing_can_default_are_named_missing_all_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path)], {}) == 2

    error = capsys.readouterr().err
    named = re.findall(r"([A-Z_]+): is required but not set", error)
    assert named == [
        "DESTINATION_REGIONS",
        "DEPLOY_SOURCE_REGION",
        "DEPLOY_BACKUP_COMPARTMENT_ID",
        "DEPLOY_FUNCTION_COMPARTMENT_ID",
        "DEPLOY_SUBNET_ID",
        "DEPLOY_TENANCY_ID",
    ]
    # Defaults, never named: the topic (created), the home region (the source), the compartments of
    # the topic (the function's) and the keys (the backups'), the sweep's compartments (the backups').
    for defaulted in (
        "NOTIFICATION_TOPIC_ID",
        "HOME_REGION",
        "TOPIC_COMPARTMENT",
        "KEY_COMPARTMENT",
        "SWEEP",
    ):
        assert defaulted not in error


def test_the_function_compartment_is_its_own_fact_never_the_backups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DEPLOY_FUNCTION_COMPARTMENT_ID"}

    assert main(["--out", str(tmp_path)], environ) == 2

    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("invalid deployment settings: DEPLOY_FUNCTION_COMPARTMENT_ID: is required but not set")
    )


def test_a_given_topic_needs_the_compartment_it_lives_in() -> None:
    topic = "ocid1.onstopic.oc1.phx.aaaaaaaaexistingtopicforbackupcopy0001"

    with pytest.raises(
        ConfigurationError, match="DEPLOY_TOPIC_COMPARTMENT_ID: is required with NOTIFICATION_TOPIC"
    ):
        load_deploy_config({**EXAMPLE_ENVIRONMENT, "NOTIFICATION_TOPIC_ID": topic})
    config = load_deploy_config(
        {
            **EXAMPLE_ENVIRONMENT,
            "NOTIFICATION_TOPIC_ID": topic,
            "DEPLOY_TOPIC_COMPARTMENT_ID": "ocid1.compartment.oc1..aaaaaaaaexampleopscompartment0001",
        }
    )
    assert (config.topic_id, config.topic_region, config.settings.notification_topic_id) == (
        topic,
        "us-phoenix-1",
        topic,
    )


def test_the_sweep_is_scheduled_over_the_backups_compartment_unless_told_otherwise() -> None:
    config = load_deploy_config(EXAMPLE_ENVIRONMENT)
    other = "ocid1.compartment.oc1..aaaaaaaaexampleothercompartment0001"
    told = load_deploy_config({**EXAMPLE_ENVIRONMENT, "SWEEP_COMPARTMENT_IDS": other})

    assert config.settings.sweep_compartment_ids == {EXAMPLE_ENVIRONMENT["DEPLOY_BACKUP_COMPARTMENT_ID"]}
    assert told.settings.sweep_compartment_ids == {other}
    assert config.sweep_cron == "*/15 * * * *"


def test_a_sweep_region_other_than_the_source_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"SWEEP_REGION \(us-ashburn-1\) is not DEPLOY_SOURCE_REGION"
    ):
        load_deploy_config({**EXAMPLE_ENVIRONMENT, "SWEEP_REGION": "us-ashburn-1"})


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("DEPLOY_NOTIFY_EMAIL", "ops at example.com", "an e-mail address"),
        ("DEPLOY_NOTIFY_EMAIL", "ops@example.com'; rm -rf ~ '", "an e-mail address"),
        ("DEPLOY_SWEEP_CRON", "every 15 minutes", "a cron expression of five fields"),
        ("DEPLOY_SWEEP_CRON", "*/15 * * *", "a cron expression of five fields"),
        ("DEPLOY_FUNCTION_ID", "ocid1.fnapp.oc1.phx.aaaaaaaaexampleapplication0001", "type fnfunc"),
    ],
)
def test_a_bad_deployment_fact_is_named(key: str, value: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{key}: .*{re.escape(said)}"):
        load_deploy_config({**EXAMPLE_ENVIRONMENT, key: value})


def test_every_key_the_operator_set_is_configured_on_the_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {
        **EXAMPLE_ENVIRONMENT,
        "RPO_HOURS": "26",
        "RETENTION_DAYS": "30",
        "RETENTION_KEEP": "3",
        "SWEEP_LOOKBACK_HOURS": "48",
        "DEPLOYMENT_NAME": "dr phoenix",
        "OCI_ENDPOINT_TEMPLATE": "http://127.0.0.1:8080/{region}/{service}",
    }

    assert main(["--out", str(tmp_path)], environ) == 0

    printed = capsys.readouterr().out
    configured = dict(
        re.findall(r"^fn config function backup-copy backup-copy (\S+) (.+)$", printed, re.MULTILINE)
    )
    assert configured == {
        "DESTINATION_REGIONS": "us-ashburn-1,eu-frankfurt-1",
        "NOTIFICATION_TOPIC_ID": '"$TOPIC_ID"',
        "DESTINATION_KMS_KEY_IDS": EXAMPLE_ENVIRONMENT["DESTINATION_KMS_KEY_IDS"],
        "SWEEP_COMPARTMENT_IDS": EXAMPLE_ENVIRONMENT["DEPLOY_BACKUP_COMPARTMENT_ID"],
        "SWEEP_LOOKBACK_HOURS": "48",
        "DEPLOYMENT_NAME": "'dr phoenix'",
        "RETENTION_DAYS": "30",
        "RETENTION_KEEP": "3",
        "RPO_HOURS": "26",
    }
    assert "rpo_age_hours[1h].max() > 26" in printed
