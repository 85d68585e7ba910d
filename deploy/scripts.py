"""commands.sh and teardown.sh: the rendered kit as `oci` and `fn` commands, in the order they must run.

commands.sh can be run again after a failure: every step first looks up what an earlier run made (by
the name it gave it) and reuses it, and brings the pieces whose content follows the configuration
(the dynamic group's rule, the policies, the Events rule, the schedule, the alarms) up to date.
teardown.sh deletes what commands.sh made, newest first, found by the same names; a topic the kit
did not create (NOTIFICATION_TOPIC_ID) is left alone. Neither ever touches a backup or a copy.

The CLI idioms (kebab-case output keys, `--query ... --raw-output` printing nothing when nothing
matches, exit code 0 either way) are oci-cli 3.95.1's; tests/deploy/test_scripts.py checks every
command and option against that version's help.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path

import oci

from backup_copy.metrics import NAMESPACE
from backup_copy.settings import Settings
from deploy.config import DeployConfig, region_key
from deploy.render import APPLICATION_MARKER, FUNCTION_MARKER, Policy, Rendered

q = shlex.quote
TOPIC_MARKER = "@TOPIC_ID@"
# Keys the platform or the tests set, never the operator: OCI Functions sets the function's region
# and OCID, and OCI_ENDPOINT_TEMPLATE points the SDK at a stand-in.
_NOT_CONFIGURED = frozenset({"oci_endpoint_template", "oci_resource_principal_region", "fn_fn_id"})
SCHEDULE_DESCRIPTION = "backup-copy sweep: catch-up, copy queue, retention, RPO"
# OCI's invoke logs are kept this long (30-day steps, 30 to 180: `oci logging log create`).
LOG_RETENTION_DAYS = 30


def _spliced(text: str, variables: Mapping[str, str]) -> str:
    """`text` as one single-quoted shell word, each marker replaced by its double-quoted variable."""
    word = q(text)
    for marker, variable in variables.items():
        word = word.replace(marker, f"'\"${{{variable}}}\"'")
    return word


def _ensure(
    variable: str,
    what: str,
    find: str,
    create: str,
    *,
    update: str | None = None,
    created_async: bool = False,
) -> list[str]:
    """Look `variable` up with `find`; create it if absent, else update it (when there is an update).

    An asynchronous create (a work request) prints no OCID: it is waited for, then looked up again.
    """
    lines = [f"{variable}=$({find})", f'if [ -z "${variable}" ]; then']
    if created_async:
        lines += [f"  {create} >/dev/null", f"  {variable}=$({find})"]
        lines += [f'  [ -n "${variable}" ] || {{ echo "{what} was not created" >&2; exit 1; }}']
    else:
        lines.append(f"  {variable}=$({create})")
    if update:
        lines += ["else", f"  {update} >/dev/null"]
    return [*lines, "fi", f'echo "{what}: ${variable}"']


def _delete(variable: str, find: str, delete: str, what: str) -> list[str]:
    """Delete what `find` names, if anything; a piece already gone is skipped, a failed delete stops."""
    return [
        f"{variable}=$({find})",
        f'if [ -n "${variable}" ]; then',
        f"  {delete}",
        f'  echo "deleted {what}"',
        "fi",
    ]


def _inside(lines: list[str]) -> list[str]:
    """`lines` indented a step, to run inside an `if` block of the script."""
    return ["  " + line for line in lines]


def _first_live(items: str, key: str = "id") -> str:
    """A --query for the first item not being deleted, as one shell word.

    One still being created counts too: a re-run moments after a create must not make a second
    (display names of rules and schedules need not be unique, so OCI would not refuse it).
    """
    alive = "\"lifecycle-state\"!='DELETED' && \"lifecycle-state\"!='DELETING'"
    return _double_quoted(f"{items}[?{alive}] | [0].{key}")


def _double_quoted(text: str) -> str:
    """`text` as one double-quoted shell word: JMESPath's own quotes stay readable."""
    escaped = "".join(f"\\{char}" if char in '\\"$`' else char for char in text)
    return f'"{escaped}"'


class _Names:
    """The names, regions and lookups both scripts share, so teardown finds what commands made."""

    def __init__(self, config: DeployConfig, rendered: Rendered) -> None:
        self.config, self.rendered = config, rendered
        self.src = f"--region {q(config.source_region)}"
        self.home = f"--region {q(config.home_region)}"
        self.function_compartment = q(config.function_compartment_id)
        self.topic_compartment = q(config.topic_compartment_id)
        self.app = q(config.application)
        self.log_group = q(config.application)
        self.log = q(f"{config.application}-invoke")
        self.schedule = q(f"{config.application}-sweep")
        self.group = config.dynamic_group_name

    def find_topic(self) -> str:
        # A topic's OCID is its `topic-id` (NotificationTopicSummary has no `id`); keys with '-' are
        # quoted in JMESPath.
        query = _first_live("data", '"topic-id"')
        return (
            f"oci ons topic list {self.src} --compartment-id {self.topic_compartment} --name {self.app} "
            f"--query {query} --raw-output"
        )

    def find_subscription(self, email: str) -> str:
        query = _double_quoted("data[?endpoint=='" + email + "'] | [0].id")
        return (
            f"oci ons subscription list {self.src} --compartment-id {self.topic_compartment} "
            f'--topic-id "$TOPIC_ID" --query {query} --raw-output'
        )

    def find_dynamic_group(self) -> str:
        return (
            f"oci iam dynamic-group list {self.home} --compartment-id {q(self.config.tenancy_id)} "
            f"--name {q(self.group)} --query 'data[0].id' --raw-output"
        )

    def find_policy(self, policy: Policy) -> str:
        return (
            f"oci iam policy list {self.home} --compartment-id {q(policy.compartment_id)} "
            f"--name {q(policy.name)} --query 'data[0].id' --raw-output"
        )

    def find_application(self) -> str:
        return (
            f"oci fn application list {self.src} --compartment-id {self.function_compartment} "
            f"--display-name {self.app} --lifecycle-state ACTIVE --query 'data[0].id' --raw-output"
        )

    def find_function(self) -> str:
        return (
            f'oci fn function list {self.src} --application-id "$APP_ID" '
            f"--display-name {q(self.config.function)} --lifecycle-state ACTIVE "
            "--query 'data[0].id' --raw-output"
        )

    def find_log_group(self) -> str:
        return (
            f"oci logging log-group list {self.src} --compartment-id {self.function_compartment} "
            f"--display-name {self.log_group} --query 'data[0].id' --raw-output"
        )

    def find_log(self) -> str:
        return (
            f'oci logging log list {self.src} --log-group-id "$LOG_GROUP_ID" --display-name {self.log} '
            "--query 'data[0].id' --raw-output"
        )

    def find_rule(self) -> str:
        return (
            f"oci events rule list {self.src} --compartment-id {q(self.config.backup_compartment_id)} "
            f"--display-name {q(self.config.function)} --query {_first_live('data')} --raw-output"
        )

    def find_schedule(self) -> str:
        # The list answers a ScheduleCollection: the schedules are under data.items.
        return (
            f"oci resource-scheduler schedule list {self.src} --compartment-id {self.function_compartment} "
            f"--display-name {self.schedule} --query {_first_live('data.items')} --raw-output"
        )

    def find_alarm(self, name: str) -> str:
        return (
            f"oci monitoring alarm list {self.src} --compartment-id {self.function_compartment} "
            f"--display-name {q(name)} --lifecycle-state ACTIVE --query 'data[0].id' --raw-output"
        )


def create_script(config: DeployConfig, rendered: Rendered, out: Path) -> list[str]:
    """commands.sh: every piece, created in the order the pieces depend on each other."""
    names = _Names(config, rendered)
    lines = [
        "#!/usr/bin/env bash",
        "# Rendered by `make deploy-files` from the function's settings and the DEPLOY_* facts. Review it,",
        "# then run it from the repository root. Run it again after a failure: each step looks up what an",
        "# earlier run made and reuses it. teardown.sh, beside it, deletes what it made.",
        "set -euo pipefail",
        f"OUT={q(str(out))}",
    ]
    for step in (_topic, _identity, _application, _function, _trigger, _schedule, _alarms, _next):
        lines += ["", *step(names)]
    return lines


def _topic(n: _Names) -> list[str]:
    config = n.config
    lines = [f"# 1. The topic for notices and alarms ({config.source_region}), and who reads it."]
    if config.topic_id is not None:
        lines.append(
            f"TOPIC_ID={q(config.topic_id)}  # NOTIFICATION_TOPIC_ID: used as it is, never created here"
        )
    else:
        create = (
            f"oci ons topic create {n.src} --compartment-id {n.topic_compartment} --name {n.app} "
            "--description 'backup-copy notices and alarms' --query 'data.\"topic-id\"' --raw-output"
        )
        lines += _ensure("TOPIC_ID", "topic", n.find_topic(), create)
    if config.notify_email:
        email = config.notify_email
        create = (
            f"oci ons subscription create {n.src} --compartment-id {n.topic_compartment} "
            f'--topic-id "$TOPIC_ID" --protocol EMAIL --subscription-endpoint {q(email)} '
            "--query 'data.id' --raw-output"
        )
        lines += _ensure("SUBSCRIPTION_ID", f"subscription of {email}", n.find_subscription(email), create)
        lines.append(
            f'echo "Confirm the subscription in the e-mail OCI sent to {email}: nothing arrives before."'
        )
    return lines


def _identity(n: _Names) -> list[str]:
    config, rendered = n.config, n.rendered
    rule = q(rendered.dynamic_group_rule)
    lines = ["# 2. The dynamic group and the function's policies (IAM changes are made in the home region)."]
    lines += _ensure(
        "DYNAMIC_GROUP_ID",
        f"dynamic group {n.group}",
        n.find_dynamic_group(),
        f"oci iam dynamic-group create {n.home} --compartment-id {q(config.tenancy_id)} --name {q(n.group)} "
        f"--description 'backup-copy function' --matching-rule {rule} --query 'data.id' --raw-output",
        update=f'oci iam dynamic-group update {n.home} --dynamic-group-id "$DYNAMIC_GROUP_ID" '
        f"--matching-rule {rule} --force",
    )
    lines.append("# One policy per compartment the statements name (the tenancy-wide tag grant in the root).")
    for policy in rendered.policies:
        lines += _policy(n, policy, f'"file://$OUT/policy-{policy.name}.json"')
    return lines


def _policy(n: _Names, policy: Policy, statements: str) -> list[str]:
    return _ensure(
        "POLICY_ID",
        f"policy {policy.name}",
        n.find_policy(policy),
        f"oci iam policy create {n.home} --compartment-id {q(policy.compartment_id)} --name {q(policy.name)} "
        f"--description {q(policy.description)} --statements {statements} --query 'data.id' --raw-output",
        update=f'oci iam policy update {n.home} --policy-id "$POLICY_ID" --statements {statements} --force',
    )


def _application(n: _Names) -> list[str]:
    config = n.config
    configuration = _spliced(n.rendered.log_configuration, {APPLICATION_MARKER: "APP_ID"})
    lines = [
        f"# 3. The application ({config.source_region}); its subnet must reach other regions (NAT gateway)."
    ]
    lines += _ensure(
        "APP_ID",
        f"application {config.application}",
        n.find_application(),
        f"oci fn application create {n.src} --compartment-id {n.function_compartment} --display-name {n.app} "
        f"--subnet-ids {q(json.dumps([config.subnet_id]))} --query 'data.id' --raw-output",
    )
    lines += ["", "# 4. The function's logs: its invocations' output (the ERROR lines), kept and searchable."]
    lines += _ensure(
        "LOG_GROUP_ID",
        f"log group {config.application}",
        n.find_log_group(),
        f"oci logging log-group create {n.src} --compartment-id {n.function_compartment} "
        f"--display-name {n.log_group} --description 'backup-copy function logs' --wait-for-state SUCCEEDED",
        created_async=True,
    )
    lines += _ensure(
        "LOG_ID",
        "invoke log",
        n.find_log(),
        f'oci logging log create {n.src} --log-group-id "$LOG_GROUP_ID" --display-name {n.log} '
        f"--log-type SERVICE --is-enabled true --retention-duration {LOG_RETENTION_DAYS} "
        f"--configuration {configuration} --wait-for-state SUCCEEDED",
        created_async=True,
    )
    return lines


def _function(n: _Names) -> list[str]:
    config = n.config
    context = q(f"{config.application}-{config.source_region}")
    # The Functions endpoint of the region, in its realm (the SDK's template for FunctionsManagementClient).
    api_url = oci.regions.endpoint_for(
        "functions",
        region=config.source_region,
        service_endpoint_template="https://functions.{region}.oci.{secondLevelDomain}",
    )
    registry = f"{region_key(config.source_region)}.ocir.io"
    lines = [
        f"# 5. The function: fn's context for {config.source_region}, then the build and the push.",
        f"NAMESPACE=$(oci os ns get {n.src} --query data --raw-output)",
        f"fn use context {context} 2>/dev/null || {{ fn create context {context} --provider oracle && "
        f"fn use context {context}; }}",
        f"fn update context oracle.compartment-id {n.function_compartment}",
        f"fn update context api-url {q(api_url)}",
        f'fn update context registry "{registry}/$NAMESPACE/{config.application}"',
        f'echo "fn deploy pushes to {registry}: if it is refused, docker login {registry} -u '
        f"'$NAMESPACE/<user name>' with an auth token, then run this script again.\"",
        f"fn deploy --app {n.app} --no-bump",
        "",
        "# 6. Its configuration: the same values this kit was rendered from.",
    ]
    function = f"{n.app} {q(config.function)}"
    lines += [
        f"fn config function {function} {key} {value}" for key, value in _function_config(config.settings)
    ]
    return lines


def _function_config(settings: Settings) -> list[tuple[str, str]]:
    """Each key the operator set (or the kit chose) as `fn config` takes it, already shell-quoted.

    The topic is "$TOPIC_ID", whichever step 1 found or made.
    """
    values = [("NOTIFICATION_TOPIC_ID", '"$TOPIC_ID"')]
    for field in Settings.model_fields:
        if field in _NOT_CONFIGURED or field == "notification_topic_id":
            continue
        if field not in settings.model_fields_set:
            continue
        text = _config_text(field, getattr(settings, field))
        if text is not None:
            values.append((field.upper(), q(text)))
    return sorted(values, key=lambda item: item[0] != "DESTINATION_REGIONS")


def _config_text(field: str, value: object) -> str | None:
    """A setting's value as its environment variable holds it; None for an unset one."""
    text: str | None
    if value is None:
        text = None
    elif field == "required_tag" and isinstance(value, tuple):
        text = "=".join(value)  # a (key, value) pair
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, dict):
        text = ",".join(f"{key}={item}" for key, item in value.items())
    elif isinstance(value, (frozenset, set, tuple)):
        text = ",".join(sorted(value) if isinstance(value, (frozenset, set)) else value)
    else:
        text = str(value)
    return text


def _trigger(n: _Names) -> list[str]:
    config, rendered = n.config, n.rendered
    condition = q(rendered.rule_condition)
    actions = _spliced(
        json.dumps({"actions": [{"actionType": "FAAS", "isEnabled": True, "functionId": FUNCTION_MARKER}]}),
        {FUNCTION_MARKER: "FUNCTION_ID"},
    )
    lines = [
        "# 7. The Events rule, in the backups' compartment and region (it sees that compartment's children).",
        f"FUNCTION_ID=$({n.find_function()})",
        '[ -n "$FUNCTION_ID" ] || { echo "the function was not found after fn deploy" >&2; exit 1; }',
    ]
    lines += _ensure(
        "RULE_ID",
        "Events rule",
        n.find_rule(),
        f"oci events rule create {n.src} --compartment-id {q(config.backup_compartment_id)} "
        f"--display-name {q(config.function)} --is-enabled true --condition {condition} --actions {actions} "
        "--query 'data.id' --raw-output",
        update=f'oci events rule update {n.src} --rule-id "$RULE_ID" --is-enabled true '
        f"--condition {condition} --actions {actions} --force",
    )
    return lines


def _schedule(n: _Names) -> list[str]:
    config, rendered = n.config, n.rendered
    resources = _spliced(rendered.schedule_resources, {FUNCTION_MARKER: "FUNCTION_ID"})
    timing = f"--action START_RESOURCE --recurrence-type CRON --recurrence-details {q(config.sweep_cron)}"
    policy = rendered.scheduler_policy
    filled = f"$OUT/policy-{policy.name}.created.json"
    lines = [
        f"# 8. The sweep's schedule ({config.sweep_cron!r}): Resource Scheduler starts the function with the",
        '#    body {"action": "sweep"}; then the policy that lets this schedule, and only it, do so.',
    ]
    lines += _ensure(
        "SCHEDULE_ID",
        "schedule",
        n.find_schedule(),
        f"oci resource-scheduler schedule create {n.src} --compartment-id {n.function_compartment} "
        f"--display-name {n.schedule} --description {q(SCHEDULE_DESCRIPTION)} {timing} "
        f"--resources {resources} --query 'data.id' --raw-output",
        update=f'oci resource-scheduler schedule update {n.src} --schedule-id "$SCHEDULE_ID" {timing} '
        f"--resources {resources} --force",
    )
    template = f"$OUT/policy-{policy.name}.json"
    lines.append(f'sed "s|{rendered.schedule_placeholder}|$SCHEDULE_ID|g" "{template}" > "{filled}"')
    lines += _policy(n, policy, f'"file://{filled}"')
    return lines


def _alarms(n: _Names) -> list[str]:
    destinations = _spliced(json.dumps([TOPIC_MARKER]), {TOPIC_MARKER: "TOPIC_ID"})
    lines = [f"# 9. Alarms on the sweep's metrics ({NAMESPACE}), to the topic."]
    for alarm in n.rendered.alarms:
        what = (
            f"--query-text {q(alarm.query)} --severity {alarm.severity} --body {q(alarm.body)} "
            f"--destinations {destinations} --is-enabled true --message-format ONS_OPTIMIZED"
        )
        lines += _ensure(
            "ALARM_ID",
            f"alarm {alarm.name}",
            n.find_alarm(alarm.name),
            f"oci monitoring alarm create {n.src} --compartment-id {n.function_compartment} "
            f"--display-name {q(alarm.name)} --metric-compartment-id {n.function_compartment} "
            f"--namespace {NAMESPACE} {what} --query 'data.id' --raw-output",
            update=f'oci monitoring alarm update {n.src} --alarm-id "$ALARM_ID" {what} --force',
        )
    return lines


def _next(n: _Names) -> list[str]:
    try_it = f'echo \'{{"action": "sweep"}}\' | fn invoke {n.config.application} {n.config.function}'
    return [
        "# 10. Done. Try a sweep now rather than wait for the schedule:",
        f"echo {q('Deployed. Try: ' + try_it)}",
    ]


def teardown_script(config: DeployConfig, rendered: Rendered) -> list[str]:
    """teardown.sh: what commands.sh made, deleted newest first; never a backup or a copy."""
    n = _Names(config, rendered)
    src, home = n.src, n.home
    prompt = f"Delete the {config.application} deployment in {config.source_region}? Type its name to go on: "
    lines = [
        "#!/usr/bin/env bash",
        "# Rendered by `make deploy-files`: deletes what commands.sh made, newest first, each found by the",
        "# name commands.sh gave it. It deletes no backup and no copy: the copies stay in the destinations,",
        "# and with the function gone nothing expires them. Run it again if a step fails.",
        "set -euo pipefail",
        'if [ "${1:-}" != "--yes" ]; then',
        f"  read -r -p {q(prompt)} answer",
        f'  [ "$answer" = {n.app} ] || {{ echo "Nothing deleted."; exit 1; }}',
        "fi",
        "",
        "# 9. The alarms.",
    ]
    for alarm in reversed(rendered.alarms):
        lines += _delete(
            "ALARM_ID",
            n.find_alarm(alarm.name),
            f'oci monitoring alarm delete {src} --alarm-id "$ALARM_ID" --force',
            f"alarm {alarm.name}",
        )
    policy = rendered.scheduler_policy
    lines += ["", "# 8. The scheduler's policy, then the schedule."]
    lines += _delete(
        "POLICY_ID",
        n.find_policy(policy),
        f'oci iam policy delete {home} --policy-id "$POLICY_ID" --force',
        f"policy {policy.name}",
    )
    lines += _delete(
        "SCHEDULE_ID",
        n.find_schedule(),
        f'oci resource-scheduler schedule delete {src} --schedule-id "$SCHEDULE_ID" --force',
        "schedule",
    )
    lines += ["", "# 7. The Events rule."]
    lines += _delete(
        "RULE_ID", n.find_rule(), f'oci events rule delete {src} --rule-id "$RULE_ID" --force', "Events rule"
    )
    lines += ["", "# 5, 4 and 3. The function, its logs, the application."]
    lines += [f"APP_ID=$({n.find_application()})", 'if [ -n "$APP_ID" ]; then']
    lines += _inside(
        _delete(
            "FUNCTION_ID",
            n.find_function(),
            f'oci fn function delete {src} --function-id "$FUNCTION_ID" --force',
            "function",
        )
    )
    lines.append("fi")
    lines += [f"LOG_GROUP_ID=$({n.find_log_group()})", 'if [ -n "$LOG_GROUP_ID" ]; then']
    lines += _inside(
        _delete(
            "LOG_ID",
            n.find_log(),
            f'oci logging log delete {src} --log-group-id "$LOG_GROUP_ID" --log-id "$LOG_ID" --force '
            "--wait-for-state SUCCEEDED >/dev/null",
            "invoke log",
        )
    )
    lines += [
        f'  oci logging log-group delete {src} --log-group-id "$LOG_GROUP_ID" --force '
        "--wait-for-state SUCCEEDED >/dev/null",
        '  echo "deleted log group"',
        "fi",
        'if [ -n "$APP_ID" ]; then',
        f'  oci fn application delete {src} --application-id "$APP_ID" --force',
        '  echo "deleted application"',
        "fi",
        "",
        "# 2. The policies, then the dynamic group.",
    ]
    for policy in reversed(rendered.policies):
        lines += _delete(
            "POLICY_ID",
            n.find_policy(policy),
            f'oci iam policy delete {home} --policy-id "$POLICY_ID" --force',
            f"policy {policy.name}",
        )
    lines += _delete(
        "DYNAMIC_GROUP_ID",
        n.find_dynamic_group(),
        f'oci iam dynamic-group delete {home} --dynamic-group-id "$DYNAMIC_GROUP_ID" --force',
        f"dynamic group {n.group}",
    )
    lines += ["", "# 1. The subscription and the topic, if the kit made them."]
    if config.topic_id is not None:
        lines.append(
            f'echo "The topic {config.topic_id} (NOTIFICATION_TOPIC_ID) was not made here: left as it is."'
        )
    else:
        lines += [f"TOPIC_ID=$({n.find_topic()})", 'if [ -n "$TOPIC_ID" ]; then']
        if config.notify_email:
            lines += _inside(
                _delete(
                    "SUBSCRIPTION_ID",
                    n.find_subscription(config.notify_email),
                    f'oci ons subscription delete {src} --subscription-id "$SUBSCRIPTION_ID" --force',
                    "subscription",
                )
            )
        lines += [
            f'  oci ons topic delete {src} --topic-id "$TOPIC_ID" --force',
            '  echo "deleted topic"',
            "fi",
        ]
    lines += [
        "",
        'echo "Left as they are: the copies in the destinations, the fn context, the registry\'s images."',
    ]
    return lines
