"""HTTPS with a throwaway CA, and persistent connections, as the real SDK client sees them."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from devkit.standin import ResourcePrincipal, StandIn

from .support import COPY_DELAY_SECONDS, REGIONS, ClientFactory, FakeClock, SeedFactory


@pytest.fixture(params=[True, False], ids=["https", "http"])
def tls(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def standin(principal: ResourcePrincipal, clock: FakeClock, tls: bool, tmp_path: Path) -> Iterator[StandIn]:
    with StandIn(
        REGIONS,
        principal.public_key_pem,
        copy_delay_seconds=COPY_DELAY_SECONDS,
        clock=clock,
        tls=tls,
        tls_dir=tmp_path / "tls",
    ) as running:
        yield running


def _client(make_client: ClientFactory) -> Any:
    """A Block Storage client that does not retry: one request is one request the stand-in records."""
    return make_client(retry_strategy=oci.retry.NoneRetryStrategy())


@pytest.mark.parametrize("tls", [True], ids=["https"])
@pytest.mark.parametrize("trust", ["ca_bundle", "ca_directory"])
def test_a_client_trusting_the_bundle_or_its_directory_reads_a_backup_over_https(
    standin: StandIn,
    make_client: ClientFactory,
    seed: SeedFactory,
    monkeypatch: pytest.MonkeyPatch,
    trust: str,
) -> None:
    trusted = getattr(standin, trust)
    assert isinstance(trusted, Path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(trusted))
    backup_id = seed("boot")
    backup = _client(make_client).get_boot_volume_backup(backup_id).data

    assert standin.base_url.startswith("https://127.0.0.1:")
    assert backup.id == backup_id
    assert [r.signature_ok for r in standin.requests] == [True]


@pytest.mark.parametrize("tls", [True], ids=["https"])
def test_a_client_not_trusting_the_throwaway_ca_is_refused(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's default bundle (certifi's) alone: the stand-in's certificate is signed by nobody in it.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    backup_id = seed("boot")
    client = _client(make_client)
    with pytest.raises(oci.exceptions.RequestException, match="CERTIFICATE_VERIFY_FAILED"):
        client.get_boot_volume_backup(backup_id)

    assert standin.requests == []


def test_sequential_requests_from_one_client_share_one_connection(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    if standin.ca_bundle is not None:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(standin.ca_bundle))
    backup_id = seed("boot")
    client = _client(make_client)
    for _ in range(5):
        client.get_boot_volume_backup(backup_id)
    client.update_boot_volume_backup(
        backup_id, oci.core.models.UpdateBootVolumeBackupDetails(freeform_tags={"k": "v"})
    )
    client.list_boot_volume_backups(compartment_id=standin.backup(backup_id).compartment_id)

    assert len(standin.requests) == 7
    assert standin.connections_accepted == 1


def test_two_clients_open_a_connection_each(
    standin: StandIn, make_client: ClientFactory, seed: SeedFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    if standin.ca_bundle is not None:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(standin.ca_bundle))
    backup_id = seed("boot")
    clients = [_client(make_client), _client(make_client)]
    for client in clients * 2:
        client.get_boot_volume_backup(backup_id)

    assert standin.connections_accepted == 2


@pytest.mark.parametrize("tls", [False], ids=["http"])
def test_plain_http_has_no_ca_bundle(standin: StandIn) -> None:
    assert standin.ca_bundle is None
    assert standin.ca_directory is None
    assert standin.base_url.startswith("http://127.0.0.1:")
