"""Configuration: read from the environment, validated, every problem named by its key."""

from __future__ import annotations

import tracemalloc
import typing

import pytest

from backup_copy.errors import ConfigurationError
from backup_copy.settings import NUMBER_BOUNDS, Settings, load_settings, read_settings
from tests.conftest import Config
from tests.fakes import TOPIC

KEY_IAD = "ocid1.key.oc1.iad.abuwcljrkeyforashburnxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
KEY_SYD = "ocid1.key.oc1.syd.abuwcljrkeyforsydneyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
KEY_FRA = "ocid1.key.oc1.eu-frankfurt-1.abuwcljrkeyforfrankfurtxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture(autouse=True)
def _config(config: Config) -> None:
    # Spaces and a repeat, as a person might type them.
    config["DESTINATION_REGIONS"] = " us-ashburn-1, eu-frankfurt-1 ,us-ashburn-1"


def test_a_good_configuration_is_read_with_its_defaults(config: Config) -> None:
    settings = load_settings(config)
    assert settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")
    assert settings.notification_topic_id == TOPIC
    assert settings.destination_kms_key_ids == {}
    assert settings.dry_run is False
    assert settings.oci_endpoint_template is None


def test_the_default_display_name_keeps_the_name_and_says_where_it_came_from(config: Config) -> None:
    name = load_settings(config).display_name(
        name="web-01",
        source_region="us-phoenix-1",
        destination_region="us-ashburn-1",
        source_id="ocid1.x",
        kind="boot volume backup",
    )
    assert name == "web-01 (copy from us-phoenix-1)"


def test_a_long_display_name_is_cut_to_255_characters(config: Config) -> None:
    config["DISPLAY_NAME_TEMPLATE"] = "{name} copied to {destination_region} from {source_id}"
    name = load_settings(config).display_name(
        name="n" * 250,
        source_region="us-phoenix-1",
        destination_region="us-ashburn-1",
        source_id="ocid1.x",
        kind="boot volume backup",
    )
    assert len(name) == 255
    assert name.startswith("n" * 250)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "DESTINATION_REGIONS",
            "us-ashburn-1,mars-north-1",
            "DESTINATION_REGIONS: 'mars-north-1' is not an OCI region",
        ),
        ("DESTINATION_REGIONS", " , ", "DESTINATION_REGIONS: name at least one destination region"),
        (
            "NOTIFICATION_TOPIC_ID",
            "ocid1.bucket.oc1.phx.aaaaaaaaaaaaaaaa",
            "NOTIFICATION_TOPIC_ID: 'ocid1.bucket.oc1.phx.aaaaaaaaaaaaaaaa': expected an OCID of type",
        ),
        ("DISPLAY_NAME_TEMPLATE", "{name", "DISPLAY_NAME_TEMPLATE: not a valid template"),
        ("DRY_RUN", "perhaps", "DRY_RUN: 'perhaps' is not one of true/false, 1/0, yes/no, on/off"),
        (
            "OCI_ENDPOINT_TEMPLATE",
            "http://127.0.0.1:8080/{service}",
            "OCI_ENDPOINT_TEMPLATE: the URL must contain both",
        ),
        ("OCI_ENDPOINT_TEMPLATE", "ftp://{region}/{service}", "OCI_ENDPOINT_TEMPLATE: a base URL"),
        (
            "DESTINATION_KMS_KEY_IDS",
            f"us-ashburn-1={KEY_FRA}",
            "the key is in eu-frankfurt-1, but a destination's key must be in that destination",
        ),
        (
            "DESTINATION_KMS_KEY_IDS",
            "us-ashburn-1",
            "DESTINATION_KMS_KEY_IDS: entry 'us-ashburn-1': not region=keyOCID",
        ),
        (
            "DESTINATION_KMS_KEY_IDS",
            f"us-ashburn-1={KEY_IAD},ap-sydney-1={KEY_SYD}",
            "not in DESTINATION_REGIONS",
        ),
        ("REQUIRED_TAG", "backup-dr", "REQUIRED_TAG: a freeform tag as key=value"),
        (
            "COMPARTMENT_IDS",
            "ocid1.bucket.oc1..aaaaaaaaaaaaaaa",
            "COMPARTMENT_IDS: 'ocid1.bucket.oc1..aaaaaaaaaaaaaaa'",
        ),
        ("SOURCE_TYPES", "MANUAL,WEEKLY", "SOURCE_TYPES: unknown source type WEEKLY"),
        ("SWEEP_REGION", "mars-north-1", "SWEEP_REGION: 'mars-north-1' is not an OCI region"),
        ("SWEEP_COMPARTMENT_IDS", "nope", "SWEEP_COMPARTMENT_IDS: 'nope' is not a compartment"),
        ("RPO_HOURS", "soon", "RPO_HOURS: must be a number above 0, at most 8760 hours"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(config: Config, key: str, value: str, expected: str) -> None:
    config[key] = value
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert expected in caught.value.reason


@pytest.mark.parametrize("key", ["DESTINATION_REGIONS", "NOTIFICATION_TOPIC_ID"])
def test_a_missing_required_key_is_named(config: Config, key: str) -> None:
    del config[key]
    with pytest.raises(ConfigurationError, match=f"{key}: is required but not set"):
        load_settings(config)


def test_keys_are_read_per_destination(config: Config) -> None:
    config["DESTINATION_KMS_KEY_IDS"] = f"us-ashburn-1={KEY_IAD}, eu-frankfurt-1={KEY_FRA}"
    assert load_settings(config).destination_kms_key_ids == {
        "us-ashburn-1": KEY_IAD,
        "eu-frankfurt-1": KEY_FRA,
    }


def test_an_endpoint_template_and_dry_run_are_read(config: Config) -> None:
    config["OCI_ENDPOINT_TEMPLATE"] = "http://127.0.0.1:8080/{region}/{service}/"
    config["DRY_RUN"] = "true"
    settings = load_settings(config)
    assert settings.oci_endpoint_template == "http://127.0.0.1:8080/{region}/{service}"
    assert settings.dry_run is True


def test_filters_are_read(config: Config) -> None:
    compartment = "ocid1.compartment.oc1..aaaaaaaa4vggyw2zmbrcwxnwbzfkdcyvkcpqxadmcdwaeb6v6uqpfrw4tuxq"
    config["REQUIRED_TAG"] = " backup-dr = true "
    config["COMPARTMENT_IDS"] = f"{compartment},"
    config["SOURCE_TYPES"] = "scheduled"
    settings = load_settings(config)
    assert settings.required_tag == ("backup-dr", "true")
    assert settings.compartment_ids == {compartment}
    assert settings.source_types == {"SCHEDULED"}


def test_without_filters_every_backup_passes(config: Config) -> None:
    settings = load_settings(config)
    assert settings.required_tag is None
    assert settings.compartment_ids == frozenset()
    assert settings.source_types == {"MANUAL", "SCHEDULED"}


def test_sweep_settings_have_safe_defaults(config: Config) -> None:
    settings = load_settings(config)
    assert (settings.sweep_lookback_hours, settings.retention_days, settings.retention_keep) == (
        24.0,
        None,
        1,
    )
    assert settings.rpo_hours == 24.0
    assert settings.sweep_source_region is None
    config["OCI_RESOURCE_PRINCIPAL_REGION"] = "us-phoenix-1"
    assert load_settings(config).sweep_source_region == "us-phoenix-1"
    config["SWEEP_REGION"] = "US-SANJOSE-1"
    assert load_settings(config).sweep_source_region == "us-sanjose-1"


def test_typed_values_are_read_as_well_as_environment_strings() -> None:
    settings = load_settings(
        {
            "DESTINATION_REGIONS": ("us-ashburn-1", "eu-frankfurt-1"),
            "NOTIFICATION_TOPIC_ID": TOPIC,
            "DESTINATION_KMS_KEY_IDS": {"us-ashburn-1": KEY_IAD},
            "DRY_RUN": True,
            "RETENTION_DAYS": 30,
            "SOURCE_TYPES": frozenset({"SCHEDULED"}),
            "REQUIRED_TAG": ("backup-dr", "true"),
        }
    )
    assert settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")
    assert settings.destination_kms_key_ids == {"us-ashburn-1": KEY_IAD}
    assert (settings.dry_run, settings.retention_days) == (True, 30.0)
    assert settings.source_types == frozenset({"SCHEDULED"})
    assert settings.required_tag == ("backup-dr", "true")


def test_a_typed_value_of_the_wrong_shape_is_named_by_its_key(config: Config) -> None:
    config_with_number: dict[str, object] = {**config, "DESTINATION_REGIONS": 42}
    with pytest.raises(ConfigurationError, match="DESTINATION_REGIONS: a comma-separated list"):
        load_settings(config_with_number)


def name_from(config: Config, *, name: str = "web-01") -> str:
    return load_settings(config).display_name(
        name=name,
        source_region="us-phoenix-1",
        destination_region="us-ashburn-1",
        source_id="ocid1.bootvolumebackup.oc1.phx.abc",
        kind="boot volume backup",
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param(
            "{name:>400000000}", "'{name:>400000000}': a placeholder takes no format spec", id="huge width"
        ),
        pytest.param("{name:d}", "'{name:d}': a placeholder takes no format spec", id="spec"),
        pytest.param(
            "{name:{kind}}", "'{name:{kind}}': a placeholder takes no format spec", id="nested spec"
        ),
        pytest.param("{name!r}", "'{name!r}': a placeholder takes no conversion", id="conversion"),
        pytest.param(
            "{name.upper}", "'{name.upper}': a placeholder takes no attribute or index", id="attribute"
        ),
        pytest.param(
            "{name.__class__}", "'{name.__class__}': a placeholder takes no attribute or index", id="dunder"
        ),
        pytest.param("{name[0]}", "'{name[0]}': a placeholder takes no attribute or index", id="index"),
        pytest.param("{volume}", "unknown placeholder '{volume}'; use {destination_region}", id="unknown"),
        pytest.param("{} {0}", "unknown placeholder '{}'", id="positional"),
    ],
)
def test_a_hostile_display_name_template_is_refused_when_the_configuration_is_read(
    config: Config, template: str, expected: str
) -> None:
    config["DISPLAY_NAME_TEMPLATE"] = template
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert f"DISPLAY_NAME_TEMPLATE: {expected}" in caught.value.reason
    assert len(caught.value.reason) < 300


def test_a_long_format_spec_is_echoed_short_in_the_refusal(config: Config) -> None:
    config["DISPLAY_NAME_TEMPLATE"] = "{name:" + "9" * 3000 + "}"
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert "DISPLAY_NAME_TEMPLATE: '{name:999" in caught.value.reason
    assert len(caught.value.reason) < 300


def test_every_placeholder_of_a_good_template_is_filled(config: Config) -> None:
    config["DISPLAY_NAME_TEMPLATE"] = "{{dr}} {name} {kind} {source_region}->{destination_region} {source_id}"
    assert name_from(config) == (
        "{dr} web-01 boot volume backup us-phoenix-1->us-ashburn-1 ocid1.bootvolumebackup.oc1.phx.abc"
    )


def test_braces_in_a_backup_name_are_copied_not_interpreted(config: Config) -> None:
    config["DISPLAY_NAME_TEMPLATE"] = "{name}"
    assert (
        name_from(config, name="{source_id} {0:>99} {name.__class__}")
        == "{source_id} {0:>99} {name.__class__}"
    )


def test_rendering_a_template_of_many_placeholders_costs_no_more_than_the_name_it_makes(
    config: Config,
) -> None:
    # About the most fn config can hold (4 KB for every key): 680 placeholders of a 255-character name
    # would make 170 KB if rendered in full before the cut to 255 characters.
    config["DISPLAY_NAME_TEMPLATE"] = "{name}" * 680
    settings = load_settings(config)
    tracemalloc.start()
    try:
        name = settings.display_name(
            name="n" * 255, source_region="r", destination_region="d", source_id="i", kind="k"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert name == "n" * 255
    assert peak < 16 * 1024


NUMERIC_KEYS = {
    "SWEEP_LOOKBACK_HOURS": "above 0, at most 2160 hours",
    "SWEEP_MAX_COPIES_IN_FLIGHT": "from 1 to 100 copies",
    "RETENTION_DAYS": "from 1 to 3650 days",
    "RETENTION_KEEP": "from 1 to 1000 copies",
    "RPO_HOURS": "above 0, at most 8760 hours",
}


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-1", "0", "1e6", "1e400", "soon"])
@pytest.mark.parametrize("key", sorted(NUMERIC_KEYS))
def test_a_numeric_key_outside_its_range_is_refused_naming_the_key_and_the_range(
    config: Config, key: str, value: str
) -> None:
    config[key] = value
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert f"{key}: must be " in caught.value.reason
    assert NUMERIC_KEYS[key] in caught.value.reason


@pytest.mark.parametrize(
    "value", [float("inf"), float("nan"), -1, 0, 10**6, pytest.param(10**5000, id="huge int"), True]
)
@pytest.mark.parametrize("key", sorted(NUMERIC_KEYS))
def test_a_typed_numeric_value_outside_its_range_is_refused_too(key: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"DESTINATION_REGIONS": "us-ashburn-1", "NOTIFICATION_TOPIC_ID": TOPIC, key: value})
    assert f"{key}: must be " in caught.value.reason
    assert NUMERIC_KEYS[key] in caught.value.reason


def test_each_numeric_key_takes_the_ends_of_its_range(config: Config) -> None:
    config.update(
        SWEEP_LOOKBACK_HOURS="2160",
        SWEEP_MAX_COPIES_IN_FLIGHT="100",
        RETENTION_DAYS="3650",
        RETENTION_KEEP="1000",
        RPO_HOURS="8760",
    )
    settings = load_settings(config)
    assert (settings.sweep_lookback_hours, settings.sweep_max_copies_in_flight) == (2160.0, 100)
    assert (settings.retention_days, settings.retention_keep, settings.rpo_hours) == (3650.0, 1000, 8760.0)
    config.update(
        SWEEP_LOOKBACK_HOURS="0.5",
        SWEEP_MAX_COPIES_IN_FLIGHT="1",
        RETENTION_DAYS="1",
        RETENTION_KEEP="1",
        RPO_HOURS="0.25",
    )
    settings = load_settings(config)
    assert (settings.sweep_lookback_hours, settings.sweep_max_copies_in_flight) == (0.5, 1)
    assert (settings.retention_days, settings.retention_keep, settings.rpo_hours) == (1.0, 1, 0.25)


def test_every_numeric_key_has_a_range() -> None:
    numeric = {
        name
        for name, field in Settings.model_fields.items()
        if {int, float} & set(typing.get_args(field.annotation) or (field.annotation,))
    }
    assert numeric == set(NUMBER_BOUNDS)
    assert {name.upper() for name in numeric} == set(NUMERIC_KEYS)


@pytest.mark.parametrize(
    ("lookback", "days", "expected"),
    [
        pytest.param(
            "72",
            "1",
            "SWEEP_LOOKBACK_HOURS (72) is longer than RETENTION_DAYS (1 day = 24 h): "
            "the sweep would re-copy what retention deletes",
            id="72 h look-back, 1 day of retention",
        ),
        pytest.param(
            "24.5",
            "1",
            "SWEEP_LOOKBACK_HOURS (24.5) is longer than RETENTION_DAYS (1 day = 24 h)",
            id="24.5 h look-back, a day of retention",
        ),
    ],
)
def test_a_look_back_longer_than_retention_is_refused_naming_both_keys(
    config: Config, lookback: str, days: str, expected: str
) -> None:
    config["SWEEP_LOOKBACK_HOURS"] = lookback
    config["RETENTION_DAYS"] = days
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert expected in caught.value.reason


@pytest.mark.parametrize(
    ("lookback", "days"),
    [
        pytest.param("24", "1", id="as long as retention"),
        pytest.param("72", "30", id="shorter than retention"),
        pytest.param("2000", None, id="no retention"),
    ],
)
def test_a_look_back_within_retention_is_accepted(config: Config, lookback: str, days: str | None) -> None:
    config["SWEEP_LOOKBACK_HOURS"] = lookback
    if days is not None:
        config["RETENTION_DAYS"] = days
    assert load_settings(config).sweep_lookback_hours == float(lookback)


FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaafunctionforbackupcopyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.mark.parametrize(
    ("keys", "deployment"),
    [
        pytest.param(
            {"DEPLOYMENT_NAME": " dr-from-phoenix ", "FN_FN_ID": FUNCTION_ID},
            "dr-from-phoenix",
            id="DEPLOYMENT_NAME first",
        ),
        pytest.param(
            {"FN_FN_ID": FUNCTION_ID, "SWEEP_REGION": "us-phoenix-1"},
            FUNCTION_ID,
            id="else the function's OCID",
        ),
        pytest.param(
            {"DEPLOYMENT_NAME": "", "SWEEP_REGION": "us-phoenix-1"},
            "backup-copy-us-phoenix-1",
            id="else the sweep region",
        ),
        pytest.param(
            {"OCI_RESOURCE_PRINCIPAL_REGION": "uk-london-1"},
            "backup-copy-uk-london-1",
            id="else its own region",
        ),
        pytest.param({}, "backup-copy", id="no region known"),
    ],
)
def test_the_deployment_is_deployment_name_else_the_function_else_the_region(
    config: Config, keys: dict[str, str], deployment: str
) -> None:
    config.update(keys)
    assert load_settings(config).deployment == deployment


def test_a_deployment_name_longer_than_a_tag_value_is_refused(config: Config) -> None:
    config["DEPLOYMENT_NAME"] = "d" * 257
    with pytest.raises(
        ConfigurationError, match="DEPLOYMENT_NAME: String should have at most 256 characters"
    ):
        load_settings(config)


KEY_PHX = "ocid1.key.oc1.phx.abuwcljrkeyforphoenixxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
KEY_IAD_2 = "ocid1.key.oc1.iad.abuwcljrsecondkeyforashburnxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
BUCKET = "ocid1.bucket.oc1.iad.aaaaaaaabucketxxxxxxxxx"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        pytest.param(
            "DESTINATION_REGIONS",
            "us-ashburn-1,eu-frankfort-1",
            "DESTINATION_REGIONS: 'eu-frankfort-1' is not an OCI region; did you mean eu-frankfurt-1?",
            id="region typo",
        ),
        pytest.param(
            "DESTINATION_REGIONS",
            "us-ashburn-l",
            "DESTINATION_REGIONS: 'us-ashburn-l' is not an OCI region; "
            "did you mean us-ashburn-1 or us-ashburn-2?",
            id="a typo two regions are as close to",
        ),
        pytest.param(
            "DESTINATION_REGIONS",
            "mars-north-1",
            "DESTINATION_REGIONS: 'mars-north-1' is not an OCI region "
            "(an identifier like us-ashburn-1, or its key like iad)",
            id="nothing close",
        ),
        pytest.param(
            "SWEEP_REGION",
            "us-phonix-1",
            "SWEEP_REGION: 'us-phonix-1' is not an OCI region; did you mean us-phoenix-1?",
            id="sweep region typo",
        ),
        pytest.param(
            "DRY_RUN",
            "ture",
            "DRY_RUN: 'ture' is not one of true/false, 1/0, yes/no, on/off",
            id="dry run typo",
        ),
        pytest.param(
            "DESTINATION_KMS_KEY_IDS",
            f"iad={KEY_PHX}",
            "DESTINATION_KMS_KEY_IDS: entry 'iad=ocid1.key.oc1.phx.abuwcljrkeyforphoenixxxxx…': "
            "the key is in us-phoenix-1, but a destination's key must be in that destination (us-ashburn-1)",
            id="key in another region",
        ),
        pytest.param(
            "DESTINATION_KMS_KEY_IDS",
            f"eu-frankfort-1={KEY_FRA}",
            "DESTINATION_KMS_KEY_IDS: entry 'eu-frankfort-1=ocid1.key.oc1.eu-frankfurt-1.abu…': "
            "'eu-frankfort-1' is not an OCI region; did you mean eu-frankfurt-1?",
            id="region typo in an entry",
        ),
        pytest.param(
            "DESTINATION_KMS_KEY_IDS",
            f"iad={BUCKET}",
            "DESTINATION_KMS_KEY_IDS: entry 'iad=ocid1.bucket.oc1.iad.aaaaaaaabucketxxxxxxxxx': the key for "
            "us-ashburn-1 is not a key OCID: expected an OCID of type key, got type bucket",
            id="not a key",
        ),
        pytest.param(
            "DESTINATION_KMS_KEY_IDS",
            f"iad={KEY_IAD},us-ashburn-1={KEY_IAD_2}",
            "DESTINATION_KMS_KEY_IDS: entries 'iad=ocid1.key.oc1.iad.abuwcljrkeyforashburnxxxx…' and "
            "'us-ashburn-1=ocid1.key.oc1.iad.abuwcljrsecondke…' both name us-ashburn-1: "
            "one key per destination",
            id="two keys for one destination",
        ),
        pytest.param(
            "DESTINATION_KMS_KEY_IDS",
            f"syd={KEY_SYD}",
            "DESTINATION_KMS_KEY_IDS: entry 'syd=ocid1.key.oc1.syd.abuwcljrkeyforsydneyxxxxx…': "
            "ap-sydney-1 is not in DESTINATION_REGIONS (us-ashburn-1, eu-frankfurt-1)",
            id="not a destination",
        ),
        pytest.param(
            "DESTINATION_KMS_KEY_IDS",
            "iad",
            "DESTINATION_KMS_KEY_IDS: entry 'iad': not region=keyOCID "
            "(e.g. us-ashburn-1=ocid1.key.oc1.iad....)",
            id="no key",
        ),
    ],
)
def test_each_refusal_names_the_entry_as_written_and_what_is_wrong_with_it(
    config: Config, key: str, value: str, expected: str
) -> None:
    config[key] = value
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert caught.value.reason == f"invalid configuration: {expected}"


def test_short_region_keys_are_read_as_their_regions(config: Config) -> None:
    config.update(
        DESTINATION_REGIONS="IAD, fra", DESTINATION_KMS_KEY_IDS=f"fra={KEY_FRA}", SWEEP_REGION=" phx "
    )
    settings = load_settings(config)
    assert settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")
    assert settings.destination_kms_key_ids == {"eu-frankfurt-1": KEY_FRA}
    assert settings.sweep_region == "us-phoenix-1"


@pytest.mark.parametrize(
    ("value", "dry_run"),
    [
        ("true", True),
        ("ON", True),
        (" yes ", True),
        ("1", True),
        ("false", False),
        ("Off", False),
        ("0", False),
    ],
)
def test_dry_run_takes_the_usual_spellings(config: Config, value: str, dry_run: bool) -> None:
    config["DRY_RUN"] = value
    assert load_settings(config).dry_run is dry_run


# Lenient: what the function reads, setting aside the bad values it can copy without.


def test_a_clean_configuration_reads_the_same_leniently_with_no_problems(config: Config) -> None:
    read = read_settings(config)
    assert read.problems == ()
    assert read.settings == load_settings(config)


def test_an_entry_that_is_no_region_is_set_aside_and_the_others_kept(config: Config) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1, eu-frankfort-1"
    read = read_settings(config)
    assert read.settings.destination_regions == ("us-ashburn-1",)
    [problem] = read.problems
    assert (
        str(problem)
        == "DESTINATION_REGIONS: 'eu-frankfort-1' is not an OCI region; did you mean eu-frankfurt-1?"
    )
    assert (problem.destinations, problem.stops_sweep) == (("eu-frankfort-1",), False)


def test_no_region_left_is_refused_naming_every_entry(config: Config) -> None:
    config["DESTINATION_REGIONS"] = "eu-frankfort-1,mars-north-1"
    with pytest.raises(ConfigurationError) as caught:
        read_settings(config)
    assert caught.value.reason.startswith(
        "invalid configuration: DESTINATION_REGIONS: 'eu-frankfort-1' is not an OCI region; "
        "did you mean eu-frankfurt-1?; 'mars-north-1' is not an OCI region"
    )


def test_a_bad_key_entry_holds_back_its_destination_and_no_other(config: Config) -> None:
    config["DESTINATION_KMS_KEY_IDS"] = f"iad={KEY_PHX}, fra={KEY_FRA}"
    read = read_settings(config)
    assert read.settings.destination_regions == ("eu-frankfurt-1",)
    assert read.settings.destination_kms_key_ids == {"eu-frankfurt-1": KEY_FRA}
    [problem] = read.problems
    assert str(problem) == (
        "DESTINATION_KMS_KEY_IDS: entry 'iad=ocid1.key.oc1.phx.abuwcljrkeyforphoenixxxxx…': the key is in "
        "us-phoenix-1, but a destination's key must be in that destination (us-ashburn-1), "
        "so us-ashburn-1 is not copied"
    )
    assert problem.destinations == ("us-ashburn-1",)


@pytest.mark.parametrize(
    ("entry", "held"),
    [
        pytest.param(f"us-ashburn-l={KEY_IAD}", ("us-ashburn-1",), id="region typo: the key's region"),
        pytest.param(f"iad={KEY_FRA}", ("us-ashburn-1", "eu-frankfurt-1"), id="both regions it could mean"),
        pytest.param(f"iad={BUCKET}", ("us-ashburn-1",), id="not a key: the region it names"),
        pytest.param(f"iad={KEY_IAD},us-ashburn-1={KEY_IAD_2}", ("us-ashburn-1",), id="two keys"),
        pytest.param("iad", ("us-ashburn-1",), id="a region without a key"),
    ],
)
def test_a_bad_key_entry_holds_back_every_destination_it_could_be_meant_for(
    config: Config, entry: str, held: tuple[str, ...]
) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1,eu-frankfurt-1,ap-sydney-1"
    config["DESTINATION_KMS_KEY_IDS"] = f"{entry},syd={KEY_SYD}"
    read = read_settings(config)
    assert {region for problem in read.problems for region in problem.destinations} == set(held)
    assert read.settings.destination_regions == tuple(
        region for region in ("us-ashburn-1", "eu-frankfurt-1", "ap-sydney-1") if region not in held
    )
    assert read.settings.destination_kms_key_ids == {"ap-sydney-1": KEY_SYD}


def test_an_entry_naming_no_region_holds_back_every_destination_without_a_key(config: Config) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1,eu-frankfurt-1,ap-sydney-1"
    config["DESTINATION_KMS_KEY_IDS"] = f"nonsense,syd={KEY_SYD}"
    read = read_settings(config)
    [problem] = read.problems
    assert problem.destinations == ("us-ashburn-1", "eu-frankfurt-1")
    assert str(problem).endswith(", so us-ashburn-1 and eu-frankfurt-1 are not copied")
    assert read.settings.destination_regions == ("ap-sydney-1",)


def test_a_key_for_a_region_that_is_not_a_destination_holds_nothing_back(config: Config) -> None:
    config["DESTINATION_KMS_KEY_IDS"] = f"syd={KEY_SYD}"
    read = read_settings(config)
    assert read.settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")
    [problem] = read.problems
    assert problem.destinations == ()
    assert "ap-sydney-1 is not in DESTINATION_REGIONS" in str(problem)


def test_key_entries_that_hold_back_every_destination_are_refused(config: Config) -> None:
    config["DESTINATION_REGIONS"] = "us-ashburn-1"
    config["DESTINATION_KMS_KEY_IDS"] = f"iad={KEY_PHX}"
    with pytest.raises(ConfigurationError) as caught:
        read_settings(config)
    assert caught.value.reason.endswith(
        "(us-ashburn-1), so us-ashburn-1 is not copied; no destination is left"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "NOTIFICATION_TOPIC_ID: is required but not set", id="missing"),
        pytest.param("", "NOTIFICATION_TOPIC_ID: is required but not set", id="empty"),
        pytest.param(
            "ocid1.bucket.oc1.phx.aaaaaaaaaaaaaaaa",
            "NOTIFICATION_TOPIC_ID: 'ocid1.bucket.oc1.phx.aaaaaaaaaaaaaaaa': "
            "expected an OCID of type onstopic, got type bucket",
            id="not a topic",
        ),
    ],
)
def test_an_unusable_topic_is_set_aside_and_nothing_else(
    config: Config, value: str | None, expected: str
) -> None:
    if value is None:
        del config["NOTIFICATION_TOPIC_ID"]
    else:
        config["NOTIFICATION_TOPIC_ID"] = value
    read = read_settings(config)
    assert read.settings.notification_topic_id == ""
    assert read.settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")
    assert [str(problem) for problem in read.problems] == [f"{expected}, so no notice can be published"]
    with pytest.raises(ConfigurationError, match="NOTIFICATION_TOPIC_ID"):
        load_settings(config)


def test_a_bad_display_name_template_falls_back_to_the_default_name(config: Config) -> None:
    config["DISPLAY_NAME_TEMPLATE"] = "{nme} copy"
    read = read_settings(config)
    assert read.settings.display_name_template == "{name} (copy from {source_region})"
    [problem] = read.problems
    assert str(problem).startswith("DISPLAY_NAME_TEMPLATE: unknown placeholder '{nme}'")
    assert str(problem).endswith("so copies take the default name '{name} (copy from {source_region})'")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SWEEP_LOOKBACK_HOURS", "soon"),
        ("SWEEP_MAX_COPIES_IN_FLIGHT", "0"),
        ("RETENTION_DAYS", "-1"),
        ("RETENTION_KEEP", "many"),
        ("RPO_HOURS", "inf"),
        ("SWEEP_COMPARTMENT_IDS", "nope"),
    ],
)
def test_a_bad_key_only_the_sweep_reads_stops_the_sweep_not_the_copy(
    config: Config, key: str, value: str
) -> None:
    config[key] = value
    read = read_settings(config)
    [problem] = read.problems
    assert (problem.key, problem.stops_sweep) == (key, True)
    assert str(problem).endswith(", so the sweep does not run")
    assert read.settings.destination_regions == ("us-ashburn-1", "eu-frankfurt-1")


def test_a_look_back_past_retention_stops_the_sweep_not_the_copy(config: Config) -> None:
    config.update(SWEEP_LOOKBACK_HOURS="72", RETENTION_DAYS="1")
    [problem] = read_settings(config).problems
    assert str(problem) == (
        "SWEEP_LOOKBACK_HOURS: 72 is longer than RETENTION_DAYS (1 day = 24 h): the sweep would re-copy "
        "what retention deletes, so the sweep does not run"
    )
    assert problem.stops_sweep


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # A dry run mistyped must not make real copies.
        ("DRY_RUN", "ture"),
        # A filter must not widen what is copied.
        ("REQUIRED_TAG", "backup-dr"),
        ("COMPARTMENT_IDS", "ocid1.bucket.oc1..aaaaaaaaaaaaaaa"),
        ("SOURCE_TYPES", "MANUAL,WEEKLY"),
        # Which copies retention may delete, and where requests go.
        ("DEPLOYMENT_NAME", "d" * 257),
        ("OCI_ENDPOINT_TEMPLATE", "ftp://{region}/{service}"),
        # Outside OCI Functions it names the deployment on every copy.
        ("SWEEP_REGION", "mars-north-1"),
    ],
)
def test_a_bad_value_that_changes_what_is_copied_or_how_refuses_every_copy(
    config: Config, key: str, value: str
) -> None:
    config[key] = value
    with pytest.raises(ConfigurationError) as caught:
        read_settings(config)
    assert caught.value.reason.startswith(f"invalid configuration: {key}: ")


def test_a_refusal_names_the_values_set_aside_too(config: Config) -> None:
    config.update(DRY_RUN="ture", DESTINATION_REGIONS="us-ashburn-1,eu-frankfort-1")
    with pytest.raises(ConfigurationError) as caught:
        read_settings(config)
    assert caught.value.reason == (
        "invalid configuration: DRY_RUN: 'ture' is not one of true/false, 1/0, yes/no, on/off; "
        "DESTINATION_REGIONS: 'eu-frankfort-1' is not an OCI region; did you mean eu-frankfurt-1?"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DESTINATION_REGIONS", "us-ashburn-1,eu-frankfort-1"),
        ("DESTINATION_KMS_KEY_IDS", f"iad={KEY_PHX}"),
        ("NOTIFICATION_TOPIC_ID", ""),
        ("DISPLAY_NAME_TEMPLATE", "{nme}"),
        ("RPO_HOURS", "soon"),
    ],
)
def test_the_strict_read_a_deployment_uses_refuses_what_the_function_would_set_aside(
    config: Config, key: str, value: str
) -> None:
    config[key] = value
    assert read_settings(config).problems
    with pytest.raises(ConfigurationError, match=f"invalid configuration: {key}: "):
        load_settings(config)
