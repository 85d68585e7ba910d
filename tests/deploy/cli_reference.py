"""What the oci and fn CLIs accept, as data: the commands and options the rendered scripts may use.

The `oci` tables are copied from the `--help` of oci-cli 3.95.1 (which bundles the oci SDK 2.189.0,
the version the project locks), one entry per command the kit's scripts run: every option it lists
(less the help-only ones), the options it marks [required], and the values of the fixed-choice
options the scripts give. The global options are from `oci --help` of the same version. The fn table
is fnproject/cli 0.6.63's (objects/context/commands.go, commands/deploy.go, objects/fn/commands.go).
A CLI that drops or renames an option the kit uses fails tests/deploy/test_scripts.py until this
file and the kit are brought up to date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

Key = TypeVar("Key")


def _table(words: Mapping[Key, str]) -> dict[Key, frozenset[str]]:
    return {key: frozenset(text.split()) for key, text in words.items()}


# `oci --help`: options every command takes (anywhere on its line).
GLOBAL_OPTIONS = frozenset({"region", "query", "raw-output", "endpoint", "profile", "config-file", "output"})

OPTIONS = _table(
    {
        "events rule create": "actions compartment-id condition defined-tags description"
        " display-name freeform-tags is-enabled max-wait-seconds wait-for-state"
        " wait-interval-seconds",
        "events rule delete": "force if-match max-wait-seconds rule-id wait-for-state wait-interval-seconds",
        "events rule list": "all compartment-id display-name lifecycle-state limit page page-size"
        " sort-by sort-order",
        "events rule update": "actions condition defined-tags description display-name force"
        " freeform-tags if-match is-enabled max-wait-seconds rule-id wait-for-state"
        " wait-interval-seconds",
        "fn application create": "compartment-id config defined-tags display-name freeform-tags"
        " image-policy-config logging max-wait-seconds network-security-group-ids"
        " security-attributes shape subnet-ids syslog-url trace-config wait-for-state"
        " wait-interval-seconds",
        "fn application delete": "application-id force if-match max-wait-seconds wait-for-state"
        " wait-interval-seconds",
        "fn application list": "all compartment-id display-name id lifecycle-state limit page"
        " page-size sort-by sort-order",
        "fn function delete": "force function-id if-match max-wait-seconds wait-for-state"
        " wait-interval-seconds",
        "fn function list": "all application-id display-name id lifecycle-state limit page"
        " page-size sort-by sort-order",
        "iam dynamic-group create": "compartment-id defined-tags description freeform-tags"
        " matching-rule max-wait-seconds name wait-for-state wait-interval-seconds",
        "iam dynamic-group delete": "dynamic-group-id force if-match max-wait-seconds"
        " wait-for-state wait-interval-seconds",
        "iam dynamic-group list": "all compartment-id lifecycle-state limit name page page-size"
        " sort-by sort-order",
        "iam dynamic-group update": "defined-tags description dynamic-group-id force freeform-tags"
        " if-match matching-rule max-wait-seconds wait-for-state wait-interval-seconds",
        "iam policy create": "compartment-id defined-tags description freeform-tags"
        " max-wait-seconds name statements version-date wait-for-state wait-interval-seconds",
        "iam policy delete": "force if-match max-wait-seconds policy-id wait-for-state wait-interval-seconds",
        "iam policy list": "all compartment-id lifecycle-state limit name page page-size sort-by sort-order",
        "iam policy update": "defined-tags description force freeform-tags if-match policy-id"
        " statements version-date",
        "logging log-group create": "compartment-id defined-tags description display-name"
        " freeform-tags max-wait-seconds wait-for-state wait-interval-seconds",
        "logging log-group delete": "force if-match log-group-id max-wait-seconds wait-for-state"
        " wait-interval-seconds",
        "logging log-group list": "all compartment-id compartmentidinsubtree display-name limit"
        " page page-size sort-by sort-order",
        "logging log create": "configuration defined-tags display-name freeform-tags is-enabled"
        " log-group-id log-type max-wait-seconds retention-duration wait-for-state"
        " wait-interval-seconds",
        "logging log delete": "force if-match log-group-id log-id max-wait-seconds wait-for-state"
        " wait-interval-seconds",
        "logging log list": "all display-name lifecycle-state limit log-group-id log-type page"
        " page-size sort-by sort-order source-resource source-service",
        "monitoring alarm create": "alarm-summary body compartment-id defined-tags destinations"
        " display-name evaluation-slack-duration freeform-tags is-enabled"
        " is-notifications-per-metric-dimension-enabled max-wait-seconds message-format"
        " metric-compartment-id metric-compartment-id-in-subtree namespace notification-title"
        " notification-version overrides pending-duration query-text repeat-notification-duration"
        " resolution resource-group rule-name severity suppression wait-for-state"
        " wait-interval-seconds",
        "monitoring alarm delete": "alarm-id force if-match max-wait-seconds wait-for-state"
        " wait-interval-seconds",
        "monitoring alarm list": "all compartment-id compartment-id-in-subtree display-name"
        " lifecycle-state limit page page-size sort-by sort-order",
        "monitoring alarm update": "alarm-id alarm-summary body compartment-id defined-tags"
        " destinations display-name evaluation-slack-duration force freeform-tags if-match"
        " is-enabled is-notifications-per-metric-dimension-enabled max-wait-seconds message-format"
        " metric-compartment-id metric-compartment-id-in-subtree namespace notification-title"
        " notification-version overrides pending-duration query-text repeat-notification-duration"
        " resolution resource-group rule-name severity suppression wait-for-state"
        " wait-interval-seconds",
        "ons subscription create": "compartment-id defined-tags freeform-tags max-wait-seconds"
        " metadata protocol subscription-endpoint topic-id wait-for-state wait-interval-seconds",
        "ons subscription delete": "force if-match max-wait-seconds subscription-id wait-for-state"
        " wait-interval-seconds",
        "ons subscription list": "all compartment-id limit page page-size topic-id",
        "ons topic create": "compartment-id defined-tags description freeform-tags name",
        "ons topic delete": "force if-match topic-id",
        "ons topic list": "all compartment-id id lifecycle-state limit name page page-size sort-by"
        " sort-order",
        "os ns get": "compartment-id",
        "resource-scheduler schedule create": "action compartment-id defined-tags description"
        " display-name freeform-tags local-time-zone max-wait-seconds recurrence-details"
        " recurrence-type resource-filters resources time-ends time-starts wait-for-state"
        " wait-interval-seconds",
        "resource-scheduler schedule delete": "force if-match max-wait-seconds schedule-id"
        " wait-for-state wait-interval-seconds",
        "resource-scheduler schedule list": "all compartment-id display-name lifecycle-state limit"
        " page page-size resource-id schedule-id sort-by sort-order",
        "resource-scheduler schedule update": "action defined-tags description display-name force"
        " freeform-tags if-match local-time-zone max-wait-seconds recurrence-details recurrence-type"
        " resource-filters resources schedule-id time-ends time-starts wait-for-state"
        " wait-interval-seconds",
    }
)

# The options each command requires ([required] in its help).
REQUIRED = _table(
    {
        "events rule create": "actions compartment-id condition display-name is-enabled",
        "events rule delete": "rule-id",
        "events rule list": "compartment-id",
        "events rule update": "rule-id",
        "fn application create": "compartment-id display-name subnet-ids",
        "fn application delete": "application-id",
        "fn application list": "compartment-id",
        "fn function delete": "function-id",
        "fn function list": "application-id",
        "iam dynamic-group create": "description matching-rule name",
        "iam dynamic-group delete": "dynamic-group-id",
        "iam dynamic-group update": "dynamic-group-id",
        "iam policy create": "compartment-id description name statements",
        "iam policy delete": "policy-id",
        "iam policy list": "compartment-id",
        "iam policy update": "policy-id",
        "logging log-group create": "compartment-id display-name",
        "logging log-group delete": "log-group-id",
        "logging log-group list": "compartment-id",
        "logging log create": "display-name log-group-id log-type",
        "logging log delete": "log-group-id log-id",
        "logging log list": "log-group-id",
        "monitoring alarm create": "compartment-id destinations display-name is-enabled"
        " metric-compartment-id namespace query-text severity",
        "monitoring alarm delete": "alarm-id",
        "monitoring alarm list": "compartment-id",
        "monitoring alarm update": "alarm-id",
        "ons subscription create": "compartment-id protocol subscription-endpoint topic-id",
        "ons subscription delete": "subscription-id",
        "ons subscription list": "compartment-id",
        "ons topic create": "compartment-id name",
        "ons topic delete": "topic-id",
        "ons topic list": "compartment-id",
        "resource-scheduler schedule create": "action compartment-id recurrence-details recurrence-type",
        "resource-scheduler schedule delete": "schedule-id",
        "resource-scheduler schedule update": "schedule-id",
    }
)

# The values of the fixed-choice options the scripts give.
CHOICES = _table(
    {
        ("events rule create", "wait-for-state"): "ACTIVE CREATING DELETED DELETING FAILED INACTIVE UPDATING",
        ("events rule delete", "wait-for-state"): "ACTIVE CREATING DELETED DELETING FAILED INACTIVE UPDATING",
        ("events rule list", "lifecycle-state"): "ACTIVE CREATING DELETED DELETING FAILED INACTIVE UPDATING",
        ("events rule update", "wait-for-state"): "ACTIVE CREATING DELETED DELETING FAILED INACTIVE UPDATING",
        ("fn application create", "wait-for-state"): "ACCEPTED CANCELED CANCELING FAILED"
        " IN_PROGRESS NEEDS_ATTENTION SUCCEEDED WAITING",
        ("fn application delete", "wait-for-state"): "ACCEPTED CANCELED CANCELING FAILED"
        " IN_PROGRESS NEEDS_ATTENTION SUCCEEDED WAITING",
        ("fn application list", "lifecycle-state"): "ACTIVE CREATING DELETED DELETING FAILED"
        " INACTIVE UPDATING",
        ("fn function delete", "wait-for-state"): "ACCEPTED CANCELED CANCELING FAILED IN_PROGRESS"
        " NEEDS_ATTENTION SUCCEEDED WAITING",
        ("fn function list", "lifecycle-state"): "ACTIVE CREATING DELETED DELETING FAILED INACTIVE UPDATING",
        ("iam dynamic-group create", "wait-for-state"): "ACTIVE CREATING DELETED DELETING INACTIVE",
        ("iam dynamic-group delete", "wait-for-state"): "ACTIVE CREATING DELETED DELETING INACTIVE",
        ("iam dynamic-group list", "lifecycle-state"): "ACTIVE CREATING DELETED DELETING INACTIVE",
        ("iam dynamic-group update", "wait-for-state"): "ACTIVE CREATING DELETED DELETING INACTIVE",
        ("iam policy create", "wait-for-state"): "ACTIVE CREATING DELETED DELETING INACTIVE",
        ("iam policy delete", "wait-for-state"): "ACTIVE CREATING DELETED DELETING INACTIVE",
        ("iam policy list", "lifecycle-state"): "ACTIVE CREATING DELETED DELETING INACTIVE",
        ("logging log-group create", "wait-for-state"): "ACCEPTED CANCELED CANCELLING FAILED"
        " IN_PROGRESS SUCCEEDED",
        ("logging log-group delete", "wait-for-state"): "ACCEPTED CANCELED CANCELLING FAILED"
        " IN_PROGRESS SUCCEEDED",
        ("logging log create", "log-type"): "CUSTOM SERVICE",
        ("logging log create", "wait-for-state"): "ACCEPTED CANCELED CANCELLING FAILED IN_PROGRESS SUCCEEDED",
        ("logging log delete", "wait-for-state"): "ACCEPTED CANCELED CANCELLING FAILED IN_PROGRESS SUCCEEDED",
        ("logging log list", "log-type"): "CUSTOM SERVICE",
        ("logging log list", "lifecycle-state"): "ACTIVE CREATING DELETING FAILED INACTIVE UPDATING",
        ("monitoring alarm create", "message-format"): "ONS_OPTIMIZED PRETTY_JSON RAW",
        ("monitoring alarm create", "wait-for-state"): "ACTIVE DELETED DELETING",
        ("monitoring alarm delete", "wait-for-state"): "ACTIVE DELETED DELETING",
        ("monitoring alarm list", "lifecycle-state"): "ACTIVE DELETED DELETING",
        ("monitoring alarm update", "message-format"): "ONS_OPTIMIZED PRETTY_JSON RAW",
        ("monitoring alarm update", "wait-for-state"): "ACTIVE DELETED DELETING",
        ("ons subscription create", "wait-for-state"): "ACTIVE DELETED PENDING",
        ("ons subscription delete", "wait-for-state"): "ACTIVE DELETED PENDING",
        ("ons topic list", "lifecycle-state"): "ACTIVE CREATING DELETING",
        ("resource-scheduler schedule create", "action"): "BACKUP_RESOURCE START_RESOURCE STOP_RESOURCE",
        ("resource-scheduler schedule create", "recurrence-type"): "CRON ICAL",
        ("resource-scheduler schedule create", "wait-for-state"): "ACCEPTED CANCELED CANCELING"
        " FAILED IN_PROGRESS NEEDS_ATTENTION SUCCEEDED WAITING",
        ("resource-scheduler schedule delete", "wait-for-state"): "ACTIVE CREATING DELETED DELETING"
        " FAILED INACTIVE UPDATING",
        ("resource-scheduler schedule list", "lifecycle-state"): "ACTIVE CREATING DELETED DELETING"
        " FAILED INACTIVE UPDATING",
        ("resource-scheduler schedule update", "action"): "BACKUP_RESOURCE START_RESOURCE STOP_RESOURCE",
        ("resource-scheduler schedule update", "recurrence-type"): "CRON ICAL",
        ("resource-scheduler schedule update", "wait-for-state"): "ACCEPTED CANCELED CANCELING"
        " FAILED IN_PROGRESS NEEDS_ATTENTION SUCCEEDED WAITING",
    }
)

# fn (the Fn Project CLI): each subcommand the scripts run, and the flags it takes.
FN_COMMANDS = _table(
    {
        "create context": "provider api-url registry",
        "use context": "",
        "update context": "",
        "deploy": "app create-app verbose no-cache local registry all no-bump build-arg working-dir",
        "config function": "",
    }
)
# The keys the scripts give `fn update context` (oracle.compartment-id: fn_go's CfgCompartmentID).
FN_CONTEXT_KEYS = frozenset({"oracle.compartment-id", "api-url", "registry"})
