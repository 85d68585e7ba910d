"""Render the deployment kit from the function's settings; print the commands that create each piece.

Run as `python -m deploy.render [--example] [--out DIR]`: the function's keys (DESTINATION_REGIONS,
NOTIFICATION_TOPIC_ID, DESTINATION_KMS_KEY_IDS, ...) and the DEPLOY_* facts come from the
environment (flags override the facts). Before anything is written, the rendered policies are
parsed and checked to grant every call the function makes, and nothing it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from backup_copy.errors import ConfigurationError
from backup_copy.events import BACKUP_CREATED_EVENTS
from backup_copy.settings import DEFAULT_DISPLAY_NAME_TEMPLATE, SOURCE_TYPES
from deploy.config import DEPLOY_KEYS, EXAMPLE_ENVIRONMENT, DeployConfig, load_deploy_config, region_key
from deploy.permissions import function_needs
from deploy.policy_check import missing, parse_all, unused

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Policy:
    """The statements attached to one compartment: a policy may only name its own compartment tree."""

    name: str
    compartment_id: str
    description: str
    statements: tuple[str, ...]


@dataclass(frozen=True)
class Rendered:
    """Every piece of the deployment, filled in."""

    dynamic_group_rule: str
    policies: tuple[Policy, ...]
    rule_condition: str

    @property
    def statements(self) -> list[str]:
        """Every policy statement, in order."""
        return [statement for policy in self.policies for statement in policy.statements]


def render_template(name: str, **values: str) -> list[str]:
    """The template's lines with every ${placeholder} filled; comment and blank lines dropped.

    A placeholder without a value raises KeyError: nothing half-filled is ever written.
    """
    text = Template((TEMPLATES / name).read_text(encoding="utf-8")).substitute(values)
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def render(config: DeployConfig) -> Rendered:
    """Fill every template from `config`."""
    settings = config.settings
    common = {
        "dynamic_group": _subject(config.dynamic_group),
        "backup_compartment_id": config.backup_compartment_id,
    }
    destinations = [region_key(region) for region in settings.destination_regions]
    copy_destinations = "any {" + ", ".join(f"target.region = '{key}'" for key in destinations) + "}"

    by_compartment: dict[str, list[tuple[str, list[str]]]] = {}

    def attach(compartment_id: str, role: str, statements: list[str]) -> None:
        by_compartment.setdefault(compartment_id, []).append((role, statements))

    attach(
        config.backup_compartment_id,
        "backups",
        render_template(
            "policy-source.txt",
            **common,
            source_region=config.source_region,
            source_region_key=region_key(config.source_region),
            copy_destinations=copy_destinations,
        ),
    )
    for region in settings.destination_regions:
        attach(
            config.backup_compartment_id,
            "backups",
            render_template("policy-destination.txt", **common, region=region, region_key=region_key(region)),
        )
        if settings.retention_days is not None:
            attach(
                config.backup_compartment_id,
                "backups",
                render_template(
                    "policy-retention.txt", **common, region=region, region_key=region_key(region)
                ),
            )
    names = [f"target.tag-namespace.name = '{name}'" for name in config.tag_namespaces]
    attach(
        config.tenancy_id,
        "tags",
        render_template(
            "policy-tags.txt",
            **common,
            tag_namespace_condition=" where any {" + ", ".join(names) + "}" if names else "",
        ),
    )
    attach(
        config.topic_compartment_id,
        "topic",
        render_template(
            "policy-topic.txt",
            **common,
            topic_compartment_id=config.topic_compartment_id,
            topic_region=config.topic_region,
            topic_region_key=region_key(config.topic_region),
        ),
    )
    attach(
        config.function_compartment_id,
        "events",
        render_template("policy-events.txt", function_compartment_id=config.function_compartment_id),
    )
    for region, key in settings.destination_kms_key_ids.items():
        attach(
            config.key_compartment_id,
            "keys",
            render_template(
                "policy-key.txt",
                **common,
                region=region,
                key_compartment_id=config.key_compartment_id,
                key_id=key,
            ),
        )

    policies = []
    for compartment_id, parts in by_compartment.items():
        roles = list(dict.fromkeys(role for role, _ in parts))
        statements = list(dict.fromkeys(statement for _, lines in parts for statement in lines))
        policies.append(
            Policy(
                name=f"{config.dynamic_group.rpartition('/')[2]}-{'-'.join(roles)}",
                compartment_id=compartment_id,
                description=f"backup-copy function: {', '.join(roles)} (rendered by deploy.render)",
                statements=tuple(statements),
            )
        )
    (rule,) = render_template(
        "dynamic-group-rule.txt", function_compartment_id=config.function_compartment_id
    )
    condition = "\n".join(
        render_template("event-rule-condition.json", event_types=json.dumps(sorted(BACKUP_CREATED_EVENTS)))
    )
    json.loads(condition)  # a template edit that breaks the JSON fails here, not in OCI
    return Rendered(dynamic_group_rule=rule, policies=tuple(policies), rule_condition=condition)


def verify(config: DeployConfig, rendered: Rendered) -> None:
    """Refuse a rendering whose policies miss a call the function makes or grant what it never uses."""
    statements = parse_all(rendered.statements)
    needs = function_needs(config)
    problems = [f"not granted: {need.describe()}" for need in missing(statements, needs)]
    problems += [
        f"grants nothing the function needs: {statement.text}" for statement in unused(statements, needs)
    ]
    if problems:
        raise ConfigurationError("the rendered policies are wrong:\n  " + "\n  ".join(problems))


def commands(config: DeployConfig, rendered: Rendered, out: Path) -> list[str]:
    """The shell commands that create each piece, in the order they must run."""
    q = shlex.quote
    settings = config.settings
    iam = f"--region {q(config.home_region)}"
    lines = [
        "#!/usr/bin/env bash",
        "# Rendered by `make deploy-files`; review, then run from the repository root.",
        "set -euo pipefail",
        "",
        "# 1. The dynamic group (IAM changes are made in the home region).",
        f"oci iam dynamic-group create {iam} --name {q(config.dynamic_group.rpartition('/')[2])} "
        f"--description 'backup-copy function' --matching-rule {q(rendered.dynamic_group_rule)}",
        "",
        "# 2. The policies, one per compartment they name (the tenancy-wide tag grant in the root).",
    ]
    lines += [
        f"oci iam policy create {iam} --compartment-id {q(policy.compartment_id)} --name {q(policy.name)} "
        f"--description {q(policy.description)} "
        f"--statements file://{q(str(out / f'policy-{policy.name}.json'))}"
        for policy in rendered.policies
    ]
    lines += [
        "",
        f"# 3. The application, in the source region ({config.source_region}).",
        f"oci fn application create --region {q(config.source_region)} "
        f"--compartment-id {q(config.function_compartment_id)} --display-name {q(config.application)} "
        f"--subnet-ids {q(json.dumps([config.subnet_id]))}",
        "",
        "# 4. The function (fn's context must point at the source region's registry).",
        f"fn deploy --app {q(config.application)}",
        "",
        "# 5. Its configuration: the same values this kit was rendered from.",
    ]
    config_values = {
        "DESTINATION_REGIONS": ",".join(settings.destination_regions),
        "NOTIFICATION_TOPIC_ID": settings.notification_topic_id,
    }
    if settings.destination_kms_key_ids:
        config_values["DESTINATION_KMS_KEY_IDS"] = ",".join(
            f"{region}={key}" for region, key in settings.destination_kms_key_ids.items()
        )
    if settings.display_name_template != DEFAULT_DISPLAY_NAME_TEMPLATE:
        config_values["DISPLAY_NAME_TEMPLATE"] = settings.display_name_template
    if settings.dry_run:
        config_values["DRY_RUN"] = "true"
    if settings.required_tag:
        config_values["REQUIRED_TAG"] = "=".join(settings.required_tag)
    if settings.compartment_ids:
        config_values["COMPARTMENT_IDS"] = ",".join(sorted(settings.compartment_ids))
    for key, value in (
        ("SWEEP_COMPARTMENT_IDS", ",".join(sorted(settings.sweep_compartment_ids))),
        ("RETENTION_DAYS", "" if settings.retention_days is None else f"{settings.retention_days:g}"),
    ):
        if value:
            config_values[key] = value
    if settings.source_types != SOURCE_TYPES:
        config_values["SOURCE_TYPES"] = ",".join(sorted(settings.source_types))
    # OCI_ENDPOINT_TEMPLATE points the SDK at a stand-in for tests: it never belongs in a deployment.
    lines += [
        f"fn config function {q(config.application)} {q(config.function)} {key} {q(value)}"
        for key, value in config_values.items()
    ]
    actions = '{"actions": [{"actionType": "FAAS", "isEnabled": true, "functionId": "\'"$FUNCTION_ID"\'"}]}'
    lines += [
        "",
        "# 6. The Events rule, in the backups' compartment and region (it sees that compartment's children).",
        f"FUNCTION_ID=$(fn inspect function {q(config.application)} {q(config.function)} id | tr -d '\"')",
        f"oci events rule create --region {q(config.source_region)} "
        f"--compartment-id {q(config.backup_compartment_id)} --display-name {q(config.function)} "
        f"--is-enabled true --condition {q(rendered.rule_condition)} --actions '{actions}'",
    ]
    return lines


def write(config: DeployConfig, rendered: Rendered, out: Path) -> list[str]:
    """Write every piece under `out`; returns the commands, also written to out/commands.sh."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "dynamic-group-rule.txt").write_text(rendered.dynamic_group_rule + "\n", encoding="utf-8")
    for policy in rendered.policies:
        (out / f"policy-{policy.name}.json").write_text(
            json.dumps(list(policy.statements), indent=2) + "\n", encoding="utf-8"
        )
    (out / "event-rule-condition.json").write_text(rendered.rule_condition + "\n", encoding="utf-8")
    lines = commands(config, rendered, out)
    (out / "commands.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The `make deploy-files` entry point."""
    parser = argparse.ArgumentParser(prog="python -m deploy.render", description=__doc__)
    parser.add_argument(
        "--example", action="store_true", help="render the two-region example, ignoring the environment"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("build/deploy"), help="where to write (default build/deploy)"
    )
    for field, variable in DEPLOY_KEYS.items():
        parser.add_argument(f"--{field.replace('_', '-')}", dest=field, help=f"overrides ${variable}")
    args = parser.parse_args(argv)
    source = EXAMPLE_ENVIRONMENT if args.example else (os.environ if environ is None else environ)
    overrides = {field: getattr(args, field) for field in DEPLOY_KEYS if getattr(args, field)}
    try:
        config = load_deploy_config(source, overrides)
        rendered = render(config)
        verify(config, rendered)
    except ConfigurationError as exc:
        print(f"deploy-files: {exc}", file=sys.stderr)
        return 2
    print("\n".join(write(config, rendered, args.out)))
    print(f"\n# Written to {args.out}/", file=sys.stderr)
    return 0


def _subject(dynamic_group: str) -> str:
    domain, _, name = dynamic_group.rpartition("/")
    return f"'{domain}'/'{name}'" if domain else name


if __name__ == "__main__":
    sys.exit(main())
