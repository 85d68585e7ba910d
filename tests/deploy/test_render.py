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
from deploy.render import TEMPLATES, Rendered, main, render_template


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
        "event-rule-condition.json",
    }


def test_the_example_writes_every_piece_and_prints_the_commands_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--example", "--out", str(tmp_path)]) == 0

    printed = capsys.readouterr().out
    assert printed == (tmp_path / "commands.sh").read_text(encoding="utf-8")
    steps = [
        "oci iam dynamic-group create",
        "oci iam policy create",
        "oci fn application create",
        "fn deploy --app backup-copy",
        "fn config function backup-copy backup-copy DESTINATION_REGIONS us-ashburn-1,eu-frankfurt-1",
        "fn config function backup-copy backup-copy NOTIFICATION_TOPIC_ID "
        + EXAMPLE_ENVIRONMENT["NOTIFICATION_TOPIC_ID"],
        "fn config function backup-copy backup-copy DESTINATION_KMS_KEY_IDS "
        + EXAMPLE_ENVIRONMENT["DESTINATION_KMS_KEY_IDS"],
        "oci events rule create",
    ]
    positions = [printed.index(step) for step in steps]
    assert positions == sorted(positions)
    for policy_file in re.findall(r"--statements file://(\S+)", printed):
        statements = json.loads(Path(policy_file).read_text(encoding="utf-8"))
        assert statements
        assert all(statement.startswith("Allow ") for statement in statements)
    assert {path.name for path in tmp_path.iterdir()} == {
        "commands.sh",
        "dynamic-group-rule.txt",
        "event-rule-condition.json",
        "policy-backup-copy-backups-topic.json",
        "policy-backup-copy-events.json",
        "policy-backup-copy-keys.json",
        "policy-backup-copy-tags.json",
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
    statements = json.loads((tmp_path / "policy-copier-backups-topic.json").read_text(encoding="utf-8"))
    assert all(s.startswith("Allow dynamic-group copier ") for s in statements)
    assert not any("'iad'" in s for s in statements)
    assert any("'fra'" in s for s in statements)
    assert "DESTINATION_KMS_KEY_IDS" not in printed
    assert "fn config function backup-copy backup-copy DRY_RUN true" in printed
    assert "fn config function backup-copy backup-copy REQUIRED_TAG backup-dr=true" in printed
    assert "fn config function backup-copy backup-copy SOURCE_TYPES SCHEDULED" in printed
    assert "COMPARTMENT_IDS" not in printed
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
