"""Publishing to a notification topic."""

import oci
import pytest

from devkit.standin import StandIn

from .support import AWAY, HOME, ClientFactory


def test_publish_records_the_message_and_returns_its_id(standin: StandIn, make_client: ClientFactory) -> None:
    topic_id = standin.add_topic(HOME)
    client = make_client(HOME, "notification")

    answer = client.publish_message(
        topic_id, oci.ons.models.MessageDetails(title="Backup copied", body="web-01 -> iad")
    )

    (message,) = standin.messages(topic_id)
    assert topic_id.startswith("ocid1.onstopic.oc1.phx.")
    assert answer.data.message_id == message.message_id
    assert (message.title, message.body, message.region) == ("Backup copied", "web-01 -> iad", HOME)


@pytest.mark.parametrize("region", [HOME, AWAY])
def test_publish_to_an_unknown_topic_is_not_found(
    standin: StandIn, make_client: ClientFactory, region: str
) -> None:
    topic_id = standin.add_topic(HOME) if region != HOME else "ocid1.onstopic.oc1.phx.unknown"

    with pytest.raises(oci.exceptions.ServiceError) as refused:
        make_client(region, "notification").publish_message(
            topic_id, oci.ons.models.MessageDetails(title="t", body="b")
        )

    assert (refused.value.status, refused.value.code) == (404, "NotAuthorizedOrNotFound")
    assert standin.messages() == []


def test_a_body_over_64_kilobytes_is_refused(standin: StandIn, make_client: ClientFactory) -> None:
    topic_id = standin.add_topic(HOME)
    client = make_client(HOME, "notification")

    client.publish_message(topic_id, oci.ons.models.MessageDetails(title="t", body="x" * 65536))
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.publish_message(topic_id, oci.ons.models.MessageDetails(title="t", body="x" * 65537))

    assert (refused.value.status, refused.value.code) == (400, "InvalidParameter")
    assert len(standin.messages(topic_id)) == 1
