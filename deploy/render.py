"""Render the deployment kit from the function's settings; print the commands that create each piece.

Run as `python -m deploy.render [--example] [--out DIR]`: the function's keys (DESTINATION_REGIONS,
NOTIFICATION_TOPIC_ID, DESTINATION_KMS_KEY_IDS, ...) and the DEPLOY_* facts come from the
environment (flags override the facts). Before anything is written, the rendered policies are
parsed and checked to grant every call the function and its schedule make, and nothing they do not.
It writes the statements, the rule, the log and schedule settings, commands.sh (which creates every
piece, and can be run again) and teardown.sh (which deletes them, newest first).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from backup_copy.errors import ConfigurationError
from backup_copy.events import BACKUP_CREATED_EVENTS
from backup_copy.metrics import COPIES_FAILED, COPIES_MADE, NAMESPACE, RPO_AGE
from deploy.config import DEPLOY_KEYS, EXAMPLE_ENVIRONMENT, DeployConfig, load_deploy_config, region_key
from deploy.permissions import function_needs, scheduler_needs
from deploy.policy_check import missing, parse_all, unused

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Values only commands.sh knows, when it runs: the rendered text holds these markers, and the
# script puts the shell variable in their place (deploy/scripts.py).
APPLICATION_MARKER = "@APPLICATION_ID@"
FUNCTION_MARKER = "@FUNCTION_ID@"


@dataclass(frozen=True)
class Policy:
    """The statements attached to one compartment: a policy may only name its own compartment tree."""

    name: str
    compartment_id: str
    description: str
    statements: tuple[str, ...]


@dataclass(frozen=True)
class Alarm:
    """A Monitoring alarm on the sweep's metrics, notifying the topic."""

    name: str
    severity: str
    query: str
    body: str


@dataclass(frozen=True)
class Rendered:
    """Every piece of the deployment, filled in."""

    dynamic_group_rule: str
    policies: tuple[Policy, ...]
    # Created after the schedule, whose OCID it names (`schedule_placeholder` until then).
    scheduler_policy: Policy
    schedule_placeholder: str
    rule_condition: str
    # The invoke log's configuration and the schedule's resources, with the markers above.
    log_configuration: str
    schedule_resources: str
    alarms: tuple[Alarm, ...]

    @property
    def statements(self) -> list[str]:
        """Every policy statement, in order, the scheduler's last."""
        return [s for policy in (*self.policies, self.scheduler_policy) for s in policy.statements]


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
        "dynamic_group": _subject(config),
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
    attach(
        config.function_compartment_id,
        "metrics",
        render_template(
            "policy-metrics.txt",
            **common,
            function_compartment_id=config.function_compartment_id,
            source_region=config.source_region,
            source_region_key=region_key(config.source_region),
            namespace=NAMESPACE,
        ),
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
                name=f"{config.dynamic_group_name}-{'-'.join(roles)}",
                compartment_id=compartment_id,
                description=f"backup-copy function: {', '.join(roles)} (rendered by deploy.render)",
                statements=tuple(statements),
            )
        )
    placeholder = schedule_placeholder(config)
    scheduler = Policy(
        name=f"{config.dynamic_group_name}-scheduler",
        compartment_id=config.function_compartment_id,
        description="backup-copy function: its sweep's schedule may start it (rendered by deploy.render)",
        statements=tuple(
            render_template(
                "policy-scheduler.txt",
                function_compartment_id=config.function_compartment_id,
                schedule_id=placeholder,
            )
        ),
    )
    function_match = (
        f"resource.id = '{config.function_id}'"
        if config.function_id
        else f"resource.compartment.id = '{config.function_compartment_id}'"
    )
    (rule,) = render_template("dynamic-group-rule.txt", function_match=function_match)
    return Rendered(
        dynamic_group_rule=rule,
        policies=tuple(policies),
        scheduler_policy=scheduler,
        schedule_placeholder=placeholder,
        rule_condition=_json_template(
            "event-rule-condition.json", event_types=json.dumps(sorted(BACKUP_CREATED_EVENTS))
        ),
        log_configuration=_json_template(
            "log-configuration.json",
            function_compartment_id=config.function_compartment_id,
            application_id=APPLICATION_MARKER,
        ),
        schedule_resources=_json_template("schedule-resources.json", function_id=FUNCTION_MARKER),
        alarms=alarms(config),
    )


def schedule_placeholder(config: DeployConfig) -> str:
    """The schedule OCID the scheduler policy is rendered and checked with; commands.sh puts the real one."""
    return f"ocid1.resourceschedule.oc1.{region_key(config.source_region)}.createdbycommandssh"


def alarms(config: DeployConfig) -> tuple[Alarm, ...]:
    """The alarms on the sweep's metrics (MQL: metric[interval].statistic, OCI's Monitoring Query Language).

    One-hour windows: the sweep posts every DEPLOY_SWEEP_CRON (15 minutes by default), and an
    interval should be no shorter than a metric's emit frequency (OCI, MQL reference).
    """
    rpo = f"{config.settings.rpo_hours:g}"
    return (
        Alarm(
            f"{config.application} RPO",
            "CRITICAL",
            f"{RPO_AGE}[1h].max() > {rpo}",
            f"A volume's newest copy in a destination holds data older than RPO_HOURS={rpo} hours. "
            "The sweep's notice flags it under rpo; its log line has the whole report.",
        ),
        Alarm(
            f"{config.application} failures",
            "ERROR",
            f"{COPIES_FAILED}[1h].sum() > 0",
            "A sweep met failures (a copy refused, a listing or a delete that failed). "
            "The FAILED notice and the function's ERROR log lines say which and why.",
        ),
        Alarm(
            f"{config.application} sweep silent",
            "ERROR",
            f"{COPIES_MADE}[1h].absent()",
            "No sweep has reported for an hour: the schedule, the scheduler's policy or the "
            "function's metrics grant. Nothing is being caught up, queued copies wait.",
        ),
    )


def verify(config: DeployConfig, rendered: Rendered) -> None:
    """Refuse a rendering whose policies miss a call the function makes or grant what it never uses."""
    statements = parse_all(rendered.statements)
    needs = function_needs(config) + scheduler_needs(config, rendered.schedule_placeholder)
    problems = [f"not granted: {need.describe()}" for need in missing(statements, needs)]
    problems += [
        f"grants nothing the function or its schedule needs: {statement.text}"
        for statement in unused(statements, needs)
    ]
    if problems:
        raise ConfigurationError("the rendered policies are wrong:\n  " + "\n  ".join(problems))


def write(config: DeployConfig, rendered: Rendered, out: Path) -> list[str]:
    """Write every piece under `out`; returns the commands, also written to out/commands.sh."""
    # The scripts are built from the Rendered pieces this module defines: imported here, not above.
    from deploy.scripts import create_script, teardown_script

    out.mkdir(parents=True, exist_ok=True)
    (out / "dynamic-group-rule.txt").write_text(rendered.dynamic_group_rule + "\n", encoding="utf-8")
    for policy in (*rendered.policies, rendered.scheduler_policy):
        (out / f"policy-{policy.name}.json").write_text(
            json.dumps(list(policy.statements), indent=2) + "\n", encoding="utf-8"
        )
    (out / "event-rule-condition.json").write_text(rendered.rule_condition + "\n", encoding="utf-8")
    lines = create_script(config, rendered, out)
    for name, script in (("commands.sh", lines), ("teardown.sh", teardown_script(config, rendered))):
        path = out / name
        path.write_text("\n".join(script) + "\n", encoding="utf-8")
        path.chmod(0o755)
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


def _json_template(name: str, **values: str) -> str:
    text = "\n".join(render_template(name, **values))
    json.loads(text)  # a template edit that breaks the JSON fails here, not in OCI
    return text


def _subject(config: DeployConfig) -> str:
    domain, name = config.dynamic_group_domain, config.dynamic_group_name
    return f"'{domain}'/'{name}'" if domain else name


if __name__ == "__main__":
    sys.exit(main())
