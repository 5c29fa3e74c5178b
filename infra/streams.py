"""How many batches of one stream shard each consumer takes at once (the event source mapping's
ParallelizationFactor, #19). No CDK here: the local stack (devtools/stack.py) reads the same
numbers for its stream poller.

What Lambda keeps in order with a factor above 1 is the item: "Lambda still ensures in-order
processing at the item (partition and sort key) level" (Lambda developer guide, "Using AWS
Lambda with Amazon DynamoDB"). Records of two items of one partition key, or of one shop, may
then be handled by two invocations at the same time.
"""

from __future__ import annotations

MAX_PARALLELIZATION = 10  # Lambda's maximum per shard
ORDER_STREAM_PARALLELIZATION = MAX_PARALLELIZATION  # the orders stream's default (DeploySettings)


def parallelization_factors(orders: int = ORDER_STREAM_PARALLELIZATION) -> dict[str, int]:
    """The factor per stream, by its consumer's function (chalicelib.wiring.STREAM_CONSUMERS'
    values; a new consumer fails the lookup until someone decides its factor here)."""
    return {
        # An order's own records stay in order (one item). A customer's orders are separate items:
        # two of them may be decided at once, and intake's conditional writes keep that safe (one
        # dedup claim owner, one task per customer, each transition from the state it starts from).
        "order_stream": orders,
        # A task's change dials the shop's due tasks and paces its lines: decisions over the whole
        # shop's tasks, which one invocation at a time per shard keeps from racing each other.
        "task_stream": 1,
        # A call's outcomes reach the shop's CRM outbox in the order they were saved.
        "outcome_stream": 1,
        # A shop's CRM events are posted in the order they were queued (one breaker per batch).
        "crm_stream": 1,
        # The live counters: a call's records are one item; the stream is far from busy enough to
        # need more than one batch per shard.
        "call_stream": 1,
    }
