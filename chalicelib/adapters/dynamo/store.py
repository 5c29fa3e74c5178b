"""The one store the services' ports see: every aggregate's repository, composed.

Each method is the aggregate repository's own (``_Via`` hands out the part's bound method, with
its signature, so mypy checks the store against every port); the list below says which
aggregate serves which call. A new repository method is added here in one line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from chalicelib.adapters.dynamo.agents import AgentRepository
from chalicelib.adapters.dynamo.calls import CallRepository
from chalicelib.adapters.dynamo.destinations import DestinationRepository
from chalicelib.adapters.dynamo.dialer_lines import DialerLineRepository
from chalicelib.adapters.dynamo.inbound_queue import QueueRepository
from chalicelib.adapters.dynamo.messages import MessageRepository
from chalicelib.adapters.dynamo.orders import OrderRepository
from chalicelib.adapters.dynamo.outcomes import OutcomeRepository
from chalicelib.adapters.dynamo.robot_calls import RobotCallRepository
from chalicelib.adapters.dynamo.shops import ShopRepository
from chalicelib.adapters.dynamo.tasks import TaskRepository

P = ParamSpec("P")
R = TypeVar("R")
Part = TypeVar("Part")


class _Via(Generic[Part, P, R]):
    """A store method that is ``method`` of the store's part ``part``."""

    def __init__(self, part: str, method: Callable[Concatenate[Part, P], R]) -> None:
        self.part, self.name = part, method.__name__

    @overload
    def __get__(self, store: None, owner: type) -> _Via[Part, P, R]: ...
    @overload
    def __get__(self, store: object, owner: type) -> Callable[P, R]: ...
    def __get__(self, store: object, owner: type) -> Any:
        return self if store is None else getattr(getattr(store, self.part), self.name)


class DynamoStore:
    """Shops, agents, orders, tasks, robot calls, calls, messages, the inbound queue, outcomes and
    the predictive dialer's lines and the shops' new destinations, as one object."""

    def __init__(self) -> None:
        self.shops = ShopRepository()
        self.agents = AgentRepository(self.shops)
        self.orders = OrderRepository()
        self.tasks = TaskRepository()
        self.robot_calls = RobotCallRepository()
        self.calls = CallRepository()
        self.messages = MessageRepository()
        self.queue = QueueRepository()
        self.outcomes = OutcomeRepository()
        self.dialer_lines = DialerLineRepository()
        self.destinations = DestinationRepository()

    # shops
    get_shop = _Via("shops", ShopRepository.get_shop)
    list_shops = _Via("shops", ShopRepository.list_shops)
    save_shop = _Via("shops", ShopRepository.save_shop)
    shop_for_number = _Via("shops", ShopRepository.shop_for_number)
    save_number = _Via("shops", ShopRepository.save_number)
    routed_numbers = _Via("shops", ShopRepository.routed_numbers)
    shop_for_api_key = _Via("shops", ShopRepository.shop_for_api_key)
    save_api_key = _Via("shops", ShopRepository.save_api_key)
    api_key_owner = _Via("shops", ShopRepository.api_key_owner)
    api_key_ids = _Via("shops", ShopRepository.api_key_ids)
    revoke_api_key = _Via("shops", ShopRepository.revoke_api_key)
    # agents
    save_agent = _Via("agents", AgentRepository.save_agent)
    delete_agent = _Via("agents", AgentRepository.delete_agent)
    claim_identity = _Via("agents", AgentRepository.claim_identity)
    has_agent = _Via("agents", AgentRepository.has_agent)
    list_agents = _Via("agents", AgentRepository.list_agents)
    agents_with_identity = _Via("agents", AgentRepository.agents_with_identity)
    get_agent = _Via("agents", AgentRepository.get_agent)
    desk_agent = _Via("agents", AgentRepository.desk_agent)
    set_agent_status = _Via("agents", AgentRepository.set_agent_status)
    reserve_agent = _Via("agents", AgentRepository.reserve_agent)
    release_agent = _Via("agents", AgentRepository.release_agent)
    note_desk_call = _Via("agents", AgentRepository.note_desk_call)
    desk_calls_unchecked_since = _Via("agents", AgentRepository.desk_calls_unchecked_since)
    recheck_desk_call_later = _Via("agents", AgentRepository.recheck_desk_call_later)
    status_log = _Via("agents", AgentRepository.status_log)
    agent_for_token = _Via("agents", AgentRepository.agent_for_token)
    agent_token = _Via("agents", AgentRepository.agent_token)
    save_agent_token = _Via("agents", AgentRepository.save_agent_token)
    revoke_agent_tokens = _Via("agents", AgentRepository.revoke_agent_tokens)
    # orders
    insert_order = _Via("orders", OrderRepository.insert_order)
    get_order = _Via("orders", OrderRepository.get_order)
    transition_order = _Via("orders", OrderRepository.transition_order)
    mark_orders = _Via("orders", OrderRepository.mark_orders)
    note_first_dial = _Via("orders", OrderRepository.note_first_dial)
    orders_by_ids = _Via("orders", OrderRepository.orders_by_ids)
    open_orders_of = _Via("orders", OrderRepository.open_orders_of)
    active_orders = _Via("orders", OrderRepository.active_orders)
    orders_of_customer = _Via("orders", OrderRepository.orders_of_customer)
    choose_delivery_slot = _Via("orders", OrderRepository.choose_delivery_slot)
    claim_dedup = _Via("orders", OrderRepository.claim_dedup)
    orders_by_number = _Via("orders", OrderRepository.orders_by_number)
    edit_open_order = _Via("orders", OrderRepository.edit_open_order)
    index_order_numbers = _Via("orders", OrderRepository.index_order_numbers)
    # tasks
    open_customer_task = _Via("tasks", TaskRepository.open_customer_task)
    insert_task = _Via("tasks", TaskRepository.insert_task)
    get_task = _Via("tasks", TaskRepository.get_task)
    shops_with_tasks_due = _Via("tasks", TaskRepository.shops_with_tasks_due)
    index_open_tasks = _Via("tasks", TaskRepository.index_open_tasks)
    claim_task_for_dial = _Via("tasks", TaskRepository.claim_task_for_dial)
    attach_call = _Via("tasks", TaskRepository.attach_call)
    answer_task = _Via("tasks", TaskRepository.answer_task)
    mark_contacted = _Via("tasks", TaskRepository.mark_contacted)
    defer_task = _Via("tasks", TaskRepository.defer_task)
    set_task_result = _Via("tasks", TaskRepository.set_task_result)
    end_attempt = _Via("tasks", TaskRepository.end_attempt)
    hand_attempt_to_agents = _Via("tasks", TaskRepository.hand_attempt_to_agents)
    release_claim = _Via("tasks", TaskRepository.release_claim)
    stale_dialing_task_ids = _Via("tasks", TaskRepository.stale_dialing_task_ids)
    count_active_tasks = _Via("tasks", TaskRepository.count_active_tasks)
    due_tasks = _Via("tasks", TaskRepository.due_tasks)
    drop_orders_from_task = _Via("tasks", TaskRepository.drop_orders_from_task)
    set_task_language = _Via("tasks", TaskRepository.set_task_language)
    claim_person_task = _Via("tasks", TaskRepository.claim_person_task)
    return_person_task = _Via("tasks", TaskRepository.return_person_task)
    defer_person_task = _Via("tasks", TaskRepository.defer_person_task)
    insert_callback_task = _Via("tasks", TaskRepository.insert_callback_task)
    claim_callback = _Via("tasks", TaskRepository.claim_callback)
    finish_callback = _Via("tasks", TaskRepository.finish_callback)
    # robot_calls
    answer_robot_call = _Via("robot_calls", RobotCallRepository.answer_robot_call)
    decide_robot_call = _Via("robot_calls", RobotCallRepository.decide_robot_call)
    # calls
    upsert_call = _Via("calls", CallRepository.upsert_call)
    get_call = _Via("calls", CallRepository.get_call)
    update_call = _Via("calls", CallRepository.update_call)
    claim_queued_call = _Via("calls", CallRepository.claim_queued_call)
    claim_agent_leg = _Via("calls", CallRepository.claim_agent_leg)
    apply_call_status = _Via("calls", CallRepository.apply_call_status)
    upsert_call_with_status = _Via("calls", CallRepository.upsert_call_with_status)
    calls_of_day = _Via("calls", CallRepository.calls_of_day)
    calls_of_customer = _Via("calls", CallRepository.calls_of_customer)
    agent_spoke_with = _Via("calls", CallRepository.agent_spoke_with)
    # messages
    log_message = _Via("messages", MessageRepository.log_message)
    messages_of = _Via("messages", MessageRepository.messages_of)
    messages_of_customer = _Via("messages", MessageRepository.messages_of_customer)
    is_do_not_call = _Via("messages", MessageRepository.is_do_not_call)
    add_do_not_call = _Via("messages", MessageRepository.add_do_not_call)
    remove_do_not_call = _Via("messages", MessageRepository.remove_do_not_call)
    opted_out_since = _Via("messages", MessageRepository.opted_out_since)
    # queue
    add_queue_entry = _Via("queue", QueueRepository.add_queue_entry)
    remove_queue_entry = _Via("queue", QueueRepository.remove_queue_entry)
    queue_entries = _Via("queue", QueueRepository.queue_entries)
    shops_with_callers_waiting = _Via("queue", QueueRepository.shops_with_callers_waiting)
    queue_position = _Via("queue", QueueRepository.queue_position)
    note_announced_position = _Via("queue", QueueRepository.note_announced_position)
    announced_position = _Via("queue", QueueRepository.announced_position)
    recent_handle_seconds = _Via("queue", QueueRepository.recent_handle_seconds)
    remember_handle_seconds = _Via("queue", QueueRepository.remember_handle_seconds)
    # outcomes
    save_outcome = _Via("outcomes", OutcomeRepository.save_outcome)
    outcomes_of = _Via("outcomes", OutcomeRepository.outcomes_of)
    saves_of = _Via("outcomes", OutcomeRepository.saves_of)
    outcomes_of_customer = _Via("outcomes", OutcomeRepository.outcomes_of_customer)
    outcomes_newest_first = _Via("outcomes", OutcomeRepository.outcomes_newest_first)
    # dialer_lines
    add_line = _Via("dialer_lines", DialerLineRepository.add_line)
    get_line = _Via("dialer_lines", DialerLineRepository.get_line)
    recent_lines = _Via("dialer_lines", DialerLineRepository.recent_lines)
    update_line = _Via("dialer_lines", DialerLineRepository.update_line)
    move_line = _Via("dialer_lines", DialerLineRepository.move_line)
    customer_lines_in_flight = _Via("dialer_lines", DialerLineRepository.customer_lines_in_flight)
    day_counts = _Via("dialer_lines", DialerLineRepository.day_counts)
    count_day = _Via("dialer_lines", DialerLineRepository.count_day)
    reserve_call_slot = _Via("dialer_lines", DialerLineRepository.reserve_call_slot)
    # destinations
    claim_destination = _Via("destinations", DestinationRepository.claim_destination)


@functools.cache
def store() -> DynamoStore:
    return DynamoStore()
