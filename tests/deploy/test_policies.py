"""The rendered policies parse with a real OCI policy parser and grant what the function's calls need."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from backup_copy.backups import BackupKind
from deploy.config import EXAMPLE_ENVIRONMENT, DeployConfig, load_deploy_config
from deploy.permissions import (
    TAG_NAMESPACE_COMPARTMENT,
    Need,
    Principal,
    function_needs,
    granted_permissions,
    scheduler_needs,
)
from deploy.policy_check import PolicySyntaxError, grants, missing, parse, parse_all, unused
from deploy.render import Rendered, render

# The example's statements: 20 for the function's backups, tags, topic, keys and Events; one for
# its metrics; two for its schedule.
EXAMPLE_STATEMENTS = 23


def _granted(rendered: Rendered, need: Need) -> bool:
    return any(grants(statement, need) for statement in parse_all(rendered.statements))


def all_needs(config: DeployConfig, rendered: Rendered) -> list[Need]:
    """What the function's calls and its schedule's need."""
    return function_needs(config) + scheduler_needs(config, rendered.schedule_placeholder)


def test_every_rendered_statement_parses_as_one_allow_statement(rendered: Rendered) -> None:
    statements = parse_all(rendered.statements)

    assert len(statements) == len(rendered.statements) == EXAMPLE_STATEMENTS
    locations = [statement.parsed["location"]["type"] for statement in statements]
    # Only the tag grant is tenancy-wide: tag namespaces live wherever the tenancy put them.
    assert locations.count("tenancy") == 1
    assert set(locations) == {"compartment-id", "tenancy"}


def test_the_parser_refuses_a_broken_statement() -> None:
    with pytest.raises(PolicySyntaxError, match="syntax error"):
        parse("Allow dynamic-group backup-copy to read boot-volume-backups in compartment id x where all {")


def test_together_the_statements_grant_every_call_the_function_makes(
    example: DeployConfig, rendered: Rendered
) -> None:
    needs = all_needs(example, rendered)

    assert missing(parse_all(rendered.statements), needs) == []
    calls = {need.call for need in needs}
    assert {"PostMetricData", "InvokeFunction", "GetFunction"} <= calls
    for noun in ("BootVolumeBackup", "VolumeBackup", "VolumeGroupBackup"):
        assert {f"Get{noun}", f"Copy{noun}", f"List{noun}s", f"Update{noun}"} <= calls
    assert "PublishMessage" in calls
    # The tag write: each update in each destination uses every configured tag namespace.
    tag_uses = {
        (need.call, need.context["request.region"], need.context["target.tag-namespace.name"])
        for need in needs
        if need.resource_type == "tag-namespaces"
    }
    assert tag_uses == {
        (f"Update{noun}", region, namespace)
        for noun in ("BootVolumeBackup", "VolumeBackup", "VolumeGroupBackup")
        for region in ("iad", "fra")
        for namespace in ("Oracle-Tags", "Operations")
    }


@pytest.mark.parametrize("index", range(EXAMPLE_STATEMENTS))
def test_each_statement_is_the_only_grant_of_something_the_function_needs(
    example: DeployConfig, rendered: Rendered, index: int
) -> None:
    statements = parse_all(rendered.statements)
    without = statements[:index] + statements[index + 1 :]

    assert missing(without, all_needs(example, rendered)) != []


def test_no_statement_grants_something_the_function_never_does(
    example: DeployConfig, rendered: Rendered
) -> None:
    assert unused(parse_all(rendered.statements), all_needs(example, rendered)) == []


def test_a_statement_for_a_permission_the_table_does_not_know_grants_nothing(example: DeployConfig) -> None:
    typo = parse(
        "Allow dynamic-group backup-copy to reed boot-volume-backups in compartment id "
        f"{example.backup_compartment_id} where request.region = 'phx'"
    )

    assert unused([typo], function_needs(example)) == [typo]


def _group_need(config: DeployConfig, resource_type: str, permission: str, **context: str) -> Need:
    return Need(
        "probe",
        Principal("dynamic-group", "backup-copy"),
        resource_type,
        config.backup_compartment_id,
        permission,
        MappingProxyType(context),
    )


@pytest.mark.parametrize("region", ["phx", "iad", "fra", "lhr"])
@pytest.mark.parametrize(
    ("resource_type", "prefix"),
    [
        ("boot-volume-backups", "BOOT_VOLUME_BACKUP"),
        ("volume-backups", "VOLUME_BACKUP"),
        ("volume-group-backups", "VOLUME_GROUP_BACKUP"),
    ],
)
def test_no_backup_can_be_deleted_or_moved_anywhere_without_retention(
    example: DeployConfig, rendered: Rendered, region: str, resource_type: str, prefix: str
) -> None:
    for action in ("DELETE", "MOVE"):
        need = _group_need(example, resource_type, f"{prefix}_{action}", **{"request.region": region})
        assert not _granted(rendered, need), action


def test_copies_go_only_from_the_source_to_a_configured_destination(
    example: DeployConfig, rendered: Rendered
) -> None:
    def copy(source: str, target: str) -> Need:
        return _group_need(
            example,
            "boot-volume-backups",
            "BOOT_VOLUME_BACKUP_COPY",
            **{
                "request.region": source,
                "target.region": target,
                "request.operation": "CopyBootVolumeBackup",
            },
        )

    assert _granted(rendered, copy("phx", "iad"))
    assert _granted(rendered, copy("phx", "fra"))
    assert not _granted(rendered, copy("phx", "lhr"))
    assert not _granted(rendered, copy("iad", "fra"))


@pytest.mark.parametrize("region", ["phx", "lhr"])
def test_backups_are_created_only_in_destination_regions(
    example: DeployConfig, rendered: Rendered, region: str
) -> None:
    for resource_type, prefix in (
        ("boot-volume-backups", "BOOT_VOLUME_BACKUP"),
        ("volume-backups", "VOLUME_BACKUP"),
    ):
        need = _group_need(example, resource_type, f"{prefix}_CREATE", **{"request.region": region})
        assert not _granted(rendered, need)


def test_the_topic_grant_is_publish_only_and_only_in_the_topics_region(
    example: DeployConfig, rendered: Rendered
) -> None:
    publish = dataclasses.replace(
        _group_need(example, "ons-topics", "ONS_TOPIC_PUBLISH", **{"request.region": "phx"}),
        compartment_id=example.topic_compartment_id,
    )

    assert _granted(rendered, publish)
    assert not _granted(
        rendered, dataclasses.replace(publish, context=MappingProxyType({"request.region": "iad"}))
    )
    for permission in granted_permissions("ons-topics", "manage") - {"ONS_TOPIC_PUBLISH"}:
        assert not _granted(rendered, dataclasses.replace(publish, permission=permission))


def test_key_grants_name_the_configured_key_only(example: DeployConfig, rendered: Rendered) -> None:
    (key,) = example.settings.destination_kms_key_ids.values()
    delegate = Need(
        "probe",
        Principal("dynamic-group", "backup-copy"),
        "key-delegate",
        example.key_compartment_id,
        None,
        MappingProxyType({"target.key.id": key}),
        "use",
    )
    other_key = MappingProxyType({"target.key.id": key.replace("frankfurt", "elsewhere")})

    assert _granted(rendered, delegate)
    assert not _granted(rendered, dataclasses.replace(delegate, context=other_key))
    assert _granted(
        rendered,
        dataclasses.replace(delegate, principal=Principal("service", "blockstorage"), resource_type="keys"),
    )


def test_without_keys_no_key_statement_is_rendered() -> None:
    config = load_deploy_config(
        {k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DESTINATION_KMS_KEY_IDS"}
    )
    rendered = render(config)

    assert not any("key" in statement.split(" in compartment")[0] for statement in rendered.statements)
    assert missing(parse_all(rendered.statements), all_needs(config, rendered)) == []
    assert unused(parse_all(rendered.statements), all_needs(config, rendered)) == []


def test_a_policy_rendered_for_fewer_destinations_misses_the_others(example: DeployConfig) -> None:
    one_region = load_deploy_config(
        {
            **{k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DESTINATION_KMS_KEY_IDS"},
            "DESTINATION_REGIONS": "us-ashburn-1",
        }
    )
    statements = parse_all(render(one_region).statements)

    gaps = missing(statements, function_needs(example))
    assert gaps
    assert {need.context.get("request.region") for need in gaps} >= {"fra"}
    assert {need.call for need in gaps} >= {
        "CopyBootVolumeBackup",
        "ListVolumeBackups",
        "UpdateVolumeGroupBackup",
    }


def test_a_dynamic_group_in_an_identity_domain_is_quoted_and_matched() -> None:
    config = load_deploy_config({**EXAMPLE_ENVIRONMENT, "DEPLOY_DYNAMIC_GROUP": "Default/backup-copy"})
    rendered = render(config)

    assert all("'Default'/'backup-copy'" in s for s in rendered.statements if "dynamic-group" in s)
    assert missing(parse_all(rendered.statements), function_needs(config)) == []


def test_every_backup_kind_the_function_handles_has_needs(example: DeployConfig) -> None:
    resource_types = {need.resource_type for need in function_needs(example)}

    assert len(BackupKind) == 3
    assert {"boot-volume-backups", "volume-backups", "volume-group-backups"} <= resource_types


def test_with_retention_the_sweep_may_delete_in_the_destinations_only() -> None:
    config = load_deploy_config(
        {
            **EXAMPLE_ENVIRONMENT,
            "RETENTION_DAYS": "30",
            "SWEEP_COMPARTMENT_IDS": EXAMPLE_ENVIRONMENT["DEPLOY_BACKUP_COMPARTMENT_ID"],
        }
    )
    rendered = render(config)
    needs = all_needs(config, rendered)
    assert missing(parse_all(rendered.statements), needs) == []
    assert unused(parse_all(rendered.statements), needs) == []
    deletes = {need.call for need in needs if need.permission and need.permission.endswith("_DELETE")}
    assert deletes == {"DeleteBootVolumeBackup", "DeleteVolumeBackup", "DeleteVolumeGroupBackup"}
    for region, allowed in (("iad", True), ("fra", True), ("phx", False)):
        need = _group_need(
            config, "boot-volume-backups", "BOOT_VOLUME_BACKUP_DELETE", **{"request.region": region}
        )
        assert _granted(rendered, need) is allowed, region
    move = _group_need(config, "boot-volume-backups", "BOOT_VOLUME_BACKUP_MOVE", **{"request.region": "iad"})
    assert not _granted(rendered, move)


def _tag_use(namespace: str | None, region: str = "iad") -> Need:
    named = {} if namespace is None else {"target.tag-namespace.name": namespace}
    return Need(
        "UpdateBootVolumeBackup",
        Principal("dynamic-group", "backup-copy"),
        "tag-namespaces",
        TAG_NAMESPACE_COMPARTMENT,
        None,
        MappingProxyType({"request.region": region, "request.operation": "UpdateBootVolumeBackup", **named}),
        "use",
    )


def test_the_tag_grant_is_tenancy_wide_and_names_only_the_configured_namespaces(
    example: DeployConfig, rendered: Rendered
) -> None:
    (tags,) = next(policy for policy in rendered.policies if policy.name == "backup-copy-tags").statements

    assert parse(tags).parsed["location"] == {"type": "tenancy", "values": []}
    assert _granted(rendered, _tag_use("Oracle-Tags"))
    assert _granted(rendered, _tag_use("Operations", "fra"))
    assert not _granted(rendered, _tag_use("Finance"))
    assert not _granted(rendered, _tag_use(None))


def test_the_tag_grant_is_attached_to_the_root_compartment(example: DeployConfig, rendered: Rendered) -> None:
    (policy,) = [
        policy for policy in rendered.policies if any("tag-namespaces" in s for s in policy.statements)
    ]

    assert policy.compartment_id == example.tenancy_id == EXAMPLE_ENVIRONMENT["DEPLOY_TENANCY_ID"]


def test_without_a_namespace_list_any_namespace_may_be_used_and_nothing_else_changes() -> None:
    config = load_deploy_config(
        {k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DEPLOY_TAG_NAMESPACES"}
    )
    rendered = render(config)
    statements = parse_all(rendered.statements)

    assert missing(statements, all_needs(config, rendered)) == []
    assert unused(statements, all_needs(config, rendered)) == []
    tags = [s for s in rendered.statements if "tag-namespaces" in s]
    assert tags == ["Allow dynamic-group backup-copy to use tag-namespaces in tenancy"]
    assert _granted(rendered, _tag_use("Finance"))
    assert len(rendered.statements) == EXAMPLE_STATEMENTS


def test_a_tag_grant_narrowed_to_fewer_namespaces_misses_the_tag_write() -> None:
    narrow = load_deploy_config({**EXAMPLE_ENVIRONMENT, "DEPLOY_TAG_NAMESPACES": "Operations"})
    statements = parse_all(render(narrow).statements)

    for environ in (
        EXAMPLE_ENVIRONMENT,  # Oracle-Tags is written too
        {k: v for k, v in EXAMPLE_ENVIRONMENT.items() if k != "DEPLOY_TAG_NAMESPACES"},  # any namespace
    ):
        gaps = missing(statements, function_needs(load_deploy_config(environ)))
        assert gaps
        assert {need.resource_type for need in gaps} == {"tag-namespaces"}
        assert {need.call for need in gaps} == {
            "UpdateBootVolumeBackup",
            "UpdateVolumeBackup",
            "UpdateVolumeGroupBackup",
        }


def test_without_the_tag_grant_the_tag_write_is_not_granted(
    example: DeployConfig, rendered: Rendered
) -> None:
    statements = [s for s in parse_all(rendered.statements) if "tag-namespaces" not in s.text]

    gaps = missing(statements, function_needs(example))

    assert gaps
    assert all(need.resource_type == "tag-namespaces" and need.call.startswith("Update") for need in gaps)


def test_deleting_a_volume_group_backup_needs_its_members_deletes() -> None:
    config = load_deploy_config({**EXAMPLE_ENVIRONMENT, "RETENTION_DAYS": "30"})
    needs = function_needs(config)

    group_deletes = {
        (need.resource_type, need.permission, need.context["request.region"])
        for need in needs
        if need.call == "DeleteVolumeGroupBackup"
    }
    assert group_deletes == {
        (resource_type, permission, region)
        for resource_type, permission in (
            ("volume-group-backups", "VOLUME_GROUP_BACKUP_DELETE"),
            ("volume-backups", "VOLUME_BACKUP_DELETE"),
            ("boot-volume-backups", "BOOT_VOLUME_BACKUP_DELETE"),
        )
        for region in ("iad", "fra")
    }
    # Rendered without the boot volume backups' delete, the group's delete misses that member check.
    statements = [
        s for s in parse_all(render(config).statements) if "BOOT_VOLUME_BACKUP_DELETE" not in s.text
    ]
    gaps = {(need.call, need.permission) for need in missing(statements, needs)}
    assert ("DeleteVolumeGroupBackup", "BOOT_VOLUME_BACKUP_DELETE") in gaps


def _metrics_post(config: DeployConfig, **changes: str) -> Need:
    context = {
        "request.region": "phx",
        "request.operation": "PostMetricData",
        "target.metrics.namespace": "backup_copy",
        **changes,
    }
    return Need(
        "PostMetricData",
        Principal("dynamic-group", "backup-copy"),
        "metrics",
        config.function_compartment_id,
        None,
        MappingProxyType(context),
        "use",
    )


def test_the_metrics_grant_is_the_functions_namespace_in_its_compartment_and_region(
    example: DeployConfig, rendered: Rendered
) -> None:
    post = _metrics_post(example)

    assert _granted(rendered, post)
    assert not _granted(rendered, _metrics_post(example, **{"target.metrics.namespace": "oci_computeagent"}))
    assert not _granted(rendered, _metrics_post(example, **{"request.region": "iad"}))
    assert not _granted(rendered, dataclasses.replace(post, compartment_id=example.backup_compartment_id))
    # `use`, not `manage`: writing metrics, nothing more.
    assert not _granted(rendered, dataclasses.replace(post, verb="manage"))


def test_without_the_metrics_grant_the_sweeps_post_is_not_granted(
    example: DeployConfig, rendered: Rendered
) -> None:
    statements = [s for s in parse_all(rendered.statements) if " metrics " not in s.text]

    gaps = missing(statements, all_needs(example, rendered))

    assert [need.call for need in gaps] == ["PostMetricData"]


def test_only_the_sweeps_schedule_may_start_the_function(example: DeployConfig, rendered: Rendered) -> None:
    invoke, read = scheduler_needs(example, rendered.schedule_placeholder)
    other_schedule = MappingProxyType(
        {**invoke.context, "request.principal.id": "ocid1.resourceschedule.oc1.phx.someoneelses"}
    )
    not_a_schedule = MappingProxyType({**invoke.context, "request.principal.type": "instance"})

    assert _granted(rendered, invoke)
    assert _granted(rendered, read)
    assert not _granted(rendered, dataclasses.replace(invoke, context=other_schedule))
    assert not _granted(rendered, dataclasses.replace(invoke, context=not_a_schedule))
    assert not _granted(rendered, dataclasses.replace(invoke, compartment_id=example.backup_compartment_id))
    assert not _granted(rendered, dataclasses.replace(read, verb="use"))
    # The function's own dynamic group is granted no invocation.
    assert not _granted(
        rendered, dataclasses.replace(invoke, principal=Principal("dynamic-group", "backup-copy"))
    )


def test_the_scheduler_policy_is_its_own_and_names_the_schedule_commands_sh_made(
    example: DeployConfig, rendered: Rendered
) -> None:
    policy = rendered.scheduler_policy

    assert policy not in rendered.policies
    assert policy.compartment_id == example.function_compartment_id
    assert all(rendered.schedule_placeholder in statement for statement in policy.statements)
    assert all(parse(s).parsed["subject"] == {"type": "any-user", "values": []} for s in policy.statements)
    assert not any(rendered.schedule_placeholder in s for p in rendered.policies for s in p.statements)


def test_the_tag_grant_stays_the_only_tenancy_wide_statement_with_metrics_and_scheduler(
    rendered: Rendered,
) -> None:
    wide = [s.text for s in parse_all(rendered.statements) if s.parsed["location"]["type"] == "tenancy"]

    assert wide == [
        "Allow dynamic-group backup-copy to use tag-namespaces in tenancy where any "
        "{target.tag-namespace.name = 'Oracle-Tags', target.tag-namespace.name = 'Operations'}"
    ]
