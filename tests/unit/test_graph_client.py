"""Pure parts of the Graph client: Retry-After, backoff, query and key encoding, request shapes, the version."""
import os
import random
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest
import yaml

from ansible_collections.entra.membership.plugins.module_utils._graph_client import (
    BACKOFF_CAP,
    COLLECTION_VERSION,
    INTERRUPT_GRACE,
    MAX_RETRY_AFTER,
    USER_AGENT,
    GraphRequest,
    GraphResponse,
    Interruption,
    backoff_delay,
    encode_query,
    key_literal,
    parse_retry_after,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("value, expected", [
    ("2", 2.0), ("2.128", 2.128), (" 0.1 ", 0.1), ("0", 0.0), (3, 3.0), ("-4", 0.0), ("99999", MAX_RETRY_AFTER),
    (None, None), ("", None), ("soon", None), ("nan", None), ("Wed, 32 Foo 2024 99:00:00 GMT", None),
])
def test_retry_after_in_seconds_is_bounded_and_junk_is_ignored(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_as_an_http_date_counts_from_now():
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    later = format_datetime(datetime(2024, 5, 1, 12, 0, 30, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(datetime(2024, 5, 1, 11, 0, 0, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


def test_backoff_grows_is_capped_and_jittered():
    rng = random.Random(1)
    first = [backoff_delay(1, rng) for _attempt in range(50)]
    assert all(0.5 <= delay <= 1.0 for delay in first) and len(set(first)) > 1
    assert all(2.0 <= backoff_delay(3, rng) <= 4.0 for _attempt in range(20))
    assert all(BACKOFF_CAP / 2 <= backoff_delay(30, rng) <= BACKOFF_CAP for _attempt in range(20))


def test_query_encoding_keeps_odata_punctuation_and_encodes_the_rest():
    query = encode_query({"$filter": "displayName eq 'R&D + Sales #1 = ok'", "$select": "id,displayName", "$top": None})
    assert query == "$filter=displayName%20eq%20'R%26D%20%2B%20Sales%20%231%20%3D%20ok'&$select=id,displayName"
    assert encode_query(None) == ""


def test_key_literal_doubles_quotes_and_encodes_hash():
    assert key_literal("$admin@contoso.com") == "'$admin@contoso.com'"
    assert key_literal("o'brien@contoso.com") == "'o''brien@contoso.com'"
    assert key_literal("ada_fabrikam.com#EXT#@contoso.onmicrosoft.com") == "'ada_fabrikam.com%23EXT%23@contoso.onmicrosoft.com'"
    assert key_literal("x/../y?z") == "'x%2F..%2Fy%3Fz'"


def test_a_batch_items_url_is_the_path_and_its_encoded_query():
    assert GraphRequest("GET", "/users/x").url() == "/users/x"
    assert GraphRequest("GET", "/groups", params={"$select": "id"}).url() == "/groups?$select=id"
    assert GraphRequest("GET", "/groups?$top=5", params={"$select": "id"}).url() == "/groups?$top=5&$select=id"


def test_a_response_is_ok_only_for_2xx_and_raises_its_error_otherwise():
    assert GraphResponse(204).ok
    assert not GraphResponse(None).ok
    failed = GraphResponse(404, body={"error": {"code": "Request_ResourceNotFound", "message": "gone"}}, request_id="r")
    with pytest.raises(GraphError) as caught:
        failed.raise_for_error()
    assert caught.value.to_dict() == {"status": 404, "code": "Request_ResourceNotFound", "message": "gone", "request_id": "r"}
    truncated = GraphResponse(200, error=GraphError(200, "IncompleteResponse", "cut"))
    assert not truncated.ok


def test_user_agent_names_the_collection_version_from_galaxy_yml():
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        assert COLLECTION_VERSION == yaml.safe_load(handle)["version"]
    assert USER_AGENT == "entra.membership/" + COLLECTION_VERSION


class Clock:
    now = 50.0

    def __call__(self):
        return self.now


def test_an_interruption_grants_requests_in_flight_a_short_grace_and_a_second_signal_ends_it():
    clock = Clock()
    interruption = Interruption(clock=clock)
    assert not interruption.is_set() and interruption.time_left() is None and interruption.reason is None
    interruption.stop("SIGINT")
    assert interruption.is_set() and interruption.reason == "SIGINT" and interruption.time_left() == INTERRUPT_GRACE
    clock.now += INTERRUPT_GRACE / 2
    assert interruption.time_left() == pytest.approx(INTERRUPT_GRACE / 2)
    interruption.stop("SIGTERM")
    assert interruption.time_left() == 0.0 and interruption.reason == "SIGINT"  # the first signal is the one that stopped it
    interruption.sleep(60)  # returns at once: nothing waits once stopped


def test_a_request_the_interruption_kept_back_says_nothing_happened_and_one_in_flight_that_it_may_have():
    interruption = Interruption()
    interruption.stop("SIGTERM")
    not_sent, unanswered = interruption.not_sent(), interruption.unanswered()
    assert (not_sent.status, not_sent.ok, not_sent.error.code) == (None, False, "Interrupted")
    assert not_sent.error.message == "not sent: the module was interrupted (SIGTERM) before this request went out"
    assert unanswered.error.code == "Interrupted" and "in flight: it may have been carried out" in unanswered.error.message
