"""Fixtures: resource-principal credentials, a running stand-in on a fake clock, real SDK clients."""

from collections.abc import Iterator
from typing import Any

import oci
import pytest

from devkit.standin import KindName, ResourcePrincipal, StandIn, make_resource_principal

from .support import COPY_DELAY_SECONDS, HOME, REGIONS, ClientFactory, FakeClock, SeedFactory


@pytest.fixture(scope="session")
def principal(tmp_path_factory: pytest.TempPathFactory) -> ResourcePrincipal:
    return make_resource_principal(tmp_path_factory.mktemp("rp"), region=HOME)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def copy_limits() -> bool:
    """Whether `standin` enforces OCI's copy limits; test_copy_limits.py overrides this to True."""
    # Off here because tests written before the limits copy one volume twice while the first copy is
    # in flight (test_list_filters_by_source_backup, test_forgotten_retry_token_makes_a_second_copy).
    return False


@pytest.fixture
def standin(principal: ResourcePrincipal, clock: FakeClock, copy_limits: bool) -> Iterator[StandIn]:
    limits: dict[str, Any] = (
        {} if copy_limits else {"one_copy_per_volume": False, "max_copies_in_flight": None}
    )
    with StandIn(
        REGIONS, principal.public_key_pem, copy_delay_seconds=COPY_DELAY_SECONDS, clock=clock, **limits
    ) as running:
        yield running


@pytest.fixture
def rp_env(principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch) -> ResourcePrincipal:
    """The function's environment: the resource-principal variables set."""
    for name, value in principal.env.items():
        monkeypatch.setenv(name, value)
    return principal


@pytest.fixture
def make_client(standin: StandIn, rp_env: ResourcePrincipal) -> Iterator[ClientFactory]:
    """Build real SDK clients against the stand-in; their sessions are closed afterwards."""
    made: list[Any] = []

    def build(region: str = HOME, service: str = "iaas", signer: Any = None, **kwargs: Any) -> Any:
        client_class = {
            "iaas": oci.core.BlockstorageClient,
            "notification": oci.ons.NotificationDataPlaneClient,
            "telemetry-ingestion": oci.monitoring.MonitoringClient,
        }[service]
        client = client_class(
            {"region": region},
            signer=signer or oci.auth.signers.get_resource_principals_signer(),
            service_endpoint=standin.endpoint(region, service),
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
            **kwargs,
        )
        made.append(client)
        return client

    yield build
    for client in made:
        client.base_client.session.close()


@pytest.fixture
def seed(standin: StandIn, principal: ResourcePrincipal) -> SeedFactory:
    """Seed an AVAILABLE backup in the principal's compartment (HOME region unless told)."""

    def add(kind: KindName = "boot", region: str = HOME, **kwargs: Any) -> str:
        kwargs.setdefault("display_name", "web-01 daily")
        kwargs.setdefault("compartment_id", principal.compartment_id)
        return standin.seed_backup(kind=kind, region=region, **kwargs)

    return add
