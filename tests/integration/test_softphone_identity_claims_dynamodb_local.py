"""A softphone identity names one agent across the shops (#17), race-free: the identity's claim
is written in one transaction with the agent, so two operators giving one identity at the same
moment cannot both succeed, whatever the (eventually consistent) index showed each of them.
On DynamoDB Local: moto checks a transaction's conditions and writes in two steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.dynamo.schema import AgentItem, SoftphoneIdentityItem
from chalicelib.adapters.dynamo.store import DynamoStore
from chalicelib.domain.routing import Agent
from chalicelib.services import admin
from tests.integration.conftest import dynamodb_local_tables

pytestmark = pytest.mark.integration

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
SHOPS = ("north", "south")


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    with dynamodb_local_tables():
        store = DynamoStore()
        for shop_id in SHOPS:
            admin.create_shop({"shop_id": shop_id, "name": shop_id.title()}, store=store, now=NOW)
        yield


class _BothLookFirst(DynamoStore):
    """Each operator's look-up of the identity finishes before either saves: the worst order of
    two concurrent adds, made certain instead of left to the threads' timing."""

    def __init__(self, meeting: threading.Barrier) -> None:
        super().__init__()
        self._meeting = meeting

    def agents_with_identity(self, identity: str) -> list[Agent]:
        found = super().agents_with_identity(identity)
        self._meeting.wait(timeout=60)
        return found


def _add(store: DynamoStore, shop_id: str, agent_id: str, identity: str) -> str:
    try:
        admin.add_agent(shop_id, {"agent_id": agent_id, "name": agent_id, "client_identity": identity}, store=store)
    except admin.AdminError as error:
        return str(error)
    return "saved"


def _holder(identity: str) -> tuple[str, str]:
    claim = SoftphoneIdentityItem.get(identity, consistent_read=True)
    return claim.shop_id, claim.agent_id


def test_two_concurrent_adds_of_one_identity_one_wins(engine: None) -> None:
    # GIVEN two operators adding an agent each, in two shops, with the identity "desk-race"
    store = _BothLookFirst(threading.Barrier(2))
    # WHEN both look the identity up (free) and then save, at the same time
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda shop: _add(store, shop, f"{shop}-1", "desk-race"), SHOPS))
    # THEN exactly one is saved; the other is refused naming the field and the winner
    assert results.count("saved") == 1, results
    winner = SHOPS[results.index("saved")]
    loser = SHOPS[1 - results.index("saved")]
    [refusal] = [result for result in results if result != "saved"]
    assert f"client_identity 'desk-race' is already agent '{winner}-1''s (shop '{winner}')" in refusal
    # AND nothing of the loser is stored; the identity names the winner alone
    assert not store.has_agent(loser, f"{loser}-1")
    assert _holder("desk-race") == (winner, f"{winner}-1")
    found = DynamoStore().agents_with_identity("desk-race")
    assert [(agent.shop_id, agent.agent_id) for agent in found] == [(winner, f"{winner}-1")]


def test_an_agents_new_identity_frees_the_old_one(engine: None) -> None:
    store = DynamoStore()
    # GIVEN Ira of the north shop with the identity "desk-old"
    assert _add(store, "north", "ira", "desk-old") == "saved"
    # WHEN her identity changes to "desk-new"
    assert _add(store, "north", "ira", "desk-new") == "saved"
    # THEN "desk-old" is free: an agent of the south shop takes it; "desk-new" is Ira's
    assert _add(store, "south", "petro", "desk-old") == "saved"
    assert "client_identity 'desk-new' is already agent 'ira''s" in _add(store, "south", "olga", "desk-new")
    assert (_holder("desk-old"), _holder("desk-new")) == (("south", "petro"), ("north", "ira"))
    # AND an update without an identity (a phone only) frees hers too
    admin.add_agent("north", {"agent_id": "ira", "name": "Ira", "phone": "+380501112233"}, store=store)
    assert _add(store, "south", "olga", "desk-new") == "saved"


def test_a_removed_agents_identity_is_free(engine: None) -> None:
    store = DynamoStore()
    assert _add(store, "north", "taras", "desk-gone") == "saved"
    admin.issue_agent_token("north", "taras", store=store, now=NOW)
    # WHEN the operator removes Taras
    assert admin.remove_agent("north", "taras", store=store) == 1
    # THEN he and his claim are gone; another agent may have his identity
    assert not store.has_agent("north", "taras")
    with pytest.raises(SoftphoneIdentityItem.DoesNotExist):
        SoftphoneIdentityItem.get("desk-gone", consistent_read=True)
    assert _add(store, "south", "marta", "desk-gone") == "saved"
    # AND removing someone unknown says so
    with pytest.raises(admin.AdminError, match="no agent 'taras'"):
        admin.remove_agent("north", "taras", store=store)


def test_agents_saved_before_claims_get_theirs_and_duplicates_are_reported(engine: None) -> None:
    store = DynamoStore()
    # GIVEN agents stored before identities were claimed: one alone, two sharing an identity
    AgentItem("north", "old-1", name="Old 1", client_identity="legacy-1").save()
    AgentItem("north", "old-2", name="Old 2", client_identity="legacy-shared").save()
    AgentItem("south", "old-3", name="Old 3", client_identity="legacy-shared").save()
    # WHEN the operator claims every stored identity
    claimed, conflicts = admin.claim_softphone_identities(store=store)
    # THEN each identity is claimed once; the second holder of the shared one is named
    assert _holder("legacy-1") == ("north", "old-1")
    assert _holder("legacy-shared") == ("north", "old-2")
    assert conflicts == [
        "agent south/old-3: client_identity 'legacy-shared' is already agent 'old-2''s (shop 'north');"
        " each softphone identity names one agent"
    ]
    # AND running it again claims nothing new and reports the same conflict
    assert admin.claim_softphone_identities(store=store) == (claimed, conflicts)
