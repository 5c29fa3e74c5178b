"""Deliver DynamoDB stream records to handlers the way a Lambda event source mapping does.

Locally nothing invokes the stream handlers, so this poller plays the part of Lambda's
event source mapping with ``FunctionResponseTypes=ReportBatchItemFailures``:

* shards are discovered with DescribeStream (and rediscovered, since shards close and get
  children); a child shard is read only once its parent has been read to the end;
* per shard, records are delivered in order, in batches of up to ``batch_size``, as the
  event Lambda builds (``{"Records": [...]}`` in DynamoDB JSON, ``ApproximateCreationDateTime``
  as epoch seconds, binary attributes base64-encoded) with a Lambda-like context;
* a handler that raises fails the whole batch, which is delivered again; a handler that
  returns ``{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}]}`` has the records
  before the lowest reported one checkpointed and the rest delivered again;
* after ``max_attempts`` deliveries failing on the same record the batch is written to the
  failure log (JSON lines, like an on-failure destination) and the shard moves on. With
  ``bisect_on_error`` (the deployed mappings use it) a failing batch is split in halves
  first and only the record that keeps failing is given up.
* with ``parallelization`` above 1 (the mapping's ParallelizationFactor) a shard's records go to
  that many lanes by their item's key (partition and sort key together, the unit Lambda keeps in
  order): each lane delivers its records in order, one batch at a time, with its own retries,
  bisection and give-up, while the shard's other lanes go on; a shard counts as read (and its
  children start) only once every lane has handled its records.

``drain()`` waits until everything written so far, including what handlers write while
handling, has been delivered and handled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.stream_records import (
    DEFAULT_ACCOUNT_ID,
    LambdaContext,
    first_failed_index,
    sequence_number,
    to_lambda_record,
)

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
_GET_RECORDS_LIMIT = 1000
_DISCOVERY_INTERVAL = 1.0  # seconds between DescribeStream calls when nothing asks for one sooner
_GONE_RECHECK_INTERVAL = 5.0  # a deleted table's stream is looked up again this often


@dataclass
class StreamConsumer:
    """One event source mapping: a stream, the function it feeds, and its retry policy."""

    name: str
    stream_arn: str
    handler: Handler
    batch_size: int = 100
    max_attempts: int = 3
    function_name: str | None = None
    starting_position: str = "TRIM_HORIZON"  # or LATEST, as in the mapping
    bisect_on_error: bool = False
    retry_delay: float = 0.05  # seconds before a failed batch is delivered again
    parallelization: int = 1  # batches of one shard in flight at once (ParallelizationFactor)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError(f"{self.name}: batch_size and max_attempts must be at least 1")
        if not 1 <= self.parallelization <= 10:
            raise ValueError(f"{self.name}: parallelization must be 1..10, as Lambda's ParallelizationFactor")
        if self.starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError(f"{self.name}: starting_position must be TRIM_HORIZON or LATEST")
        if self.function_name is None:
            self.function_name = self.name


@dataclass
class PollerStats:
    batches: int = 0  # handler invocations
    records: int = 0  # records handled successfully (checkpointed past)
    retries: int = 0  # invocations that redelivered a record already delivered
    failures: int = 0  # records given up on and written to the failure log

    def as_dict(self) -> dict[str, int]:
        return {
            "batches": self.batches,
            "records": self.records,
            "retries": self.retries,
            "failures": self.failures,
        }


class StreamPoller:
    def __init__(
        self,
        consumers: list[StreamConsumer],
        *,
        region: str,
        endpoint_url: str | None,
        failure_log: Path,
        poll_interval: float = 0.2,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        self.consumers = list(consumers)
        self.region = region
        self.endpoint_url = endpoint_url
        self.failure_log = Path(failure_log)
        self.poll_interval = poll_interval
        self.account_id = account_id
        self._stats = PollerStats()
        # One condition guards the counters drain() reads; workers notify it on progress.
        self._progress = threading.Condition()
        self._tick = 0
        self._deliveries_in_flight = 0
        self._deliveries_started = 0
        self._failure_log_lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[_ConsumerWorker] = []

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> StreamPoller:
        if self._workers:
            return self
        self._stop.clear()
        self._workers = [_ConsumerWorker(self, consumer) for consumer in self.consumers]
        for worker in self._workers:
            worker.thread.start()
        logger.info("Stream poller started for %s", ", ".join(c.name for c in self.consumers))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.wake.set()
        for worker in self._workers:
            worker.thread.join(timeout)
            for delivery in worker.delivery_threads():
                delivery.join(timeout)
            if worker.thread.is_alive():
                logger.warning("Stream consumer %s did not stop within %.0f s", worker.consumer.name, timeout)
        self._workers = []

    def __enter__(self) -> StreamPoller:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- observing --------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        with self._progress:
            return self._stats.as_dict()

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every record written before now, and every record the handlers write
        meanwhile, has been delivered and handled (or given up). False on timeout.

        Quiet means: no delivery was running at an instant T, none started after T, and after
        T every shard was polled and came back empty with nothing pending. Handlers finish
        their writes before T, so polls after T would have seen them.
        """
        if not self._workers:
            raise RuntimeError("StreamPoller.drain() needs start() first")
        deadline = time.monotonic() + timeout
        with self._progress:
            while True:
                if not self._progress.wait_for(lambda: self._deliveries_in_flight == 0, _left(deadline)):
                    return False
                mark = self._tick
                self._tick += 1
                started_at_mark = self._deliveries_started
                for worker in self._workers:
                    worker.request_discovery()  # rather than waiting for the next interval

                def settled(mark: int = mark, started: int = started_at_mark) -> bool:
                    return self._deliveries_started != started or all(w.quiet_since(mark) for w in self._workers)

                if not self._progress.wait_for(settled, _left(deadline)):
                    return False
                if self._deliveries_started == started_at_mark:
                    return True
                # Something was delivered after the mark: its writes need another quiet round.

    def pending(self) -> list[str]:
        """What the poller still holds, in words: deliveries running, and per shard lane the
        records fetched and not yet handled, with a failing record's tries and next try
        (``LocalStack.wait_quiet`` names them when it times out). Read without the workers'
        locks: a snapshot for a message, not for decisions."""
        lines = [f"{self._deliveries_in_flight} stream deliveries running"] if self._deliveries_in_flight else []
        now = time.monotonic()
        for worker in list(self._workers):
            for shard in list(worker.shards.values()):
                for number, lane in enumerate(list(shard.lanes)):
                    if not lane.buffer and lane.failing_sequence is None:
                        continue
                    where = f"shard {shard.shard_id}" + (f" lane {number}" if len(shard.lanes) > 1 else "")
                    line = f"stream {worker.consumer.name} {where}: {len(lane.buffer)} records waiting"
                    if lane.failing_sequence is not None:
                        line += f", record {lane.failing_sequence} failed {lane.attempts} times"
                        line += f", next try in {max(0.0, lane.retry_at - now):.1f} s"
                    lines.append(line)
        return lines

    # -- used by the workers ----------------------------------------------------------------

    def _next_tick(self) -> int:
        with self._progress:
            self._tick += 1
            return self._tick

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def _client(self) -> Any:
        credentials: dict[str, str] = {}
        if boto3.Session().get_credentials() is None:
            # DynamoDB Local accepts any credentials; boto3 refuses to sign without some.
            credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        return boto3.client(
            "dynamodbstreams",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=Config(connect_timeout=2, read_timeout=10, retries={"total_max_attempts": 2}),
            **credentials,
        )

    def _write_failure(self, entry: dict[str, Any]) -> None:
        self.failure_log.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, default=str, sort_keys=False)
        with self._failure_log_lock, self.failure_log.open("a", encoding="utf-8") as log_file:
            log_file.write(line + "\n")


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


@dataclass
class _Lane:
    """A shard's records of some items, delivered in order one batch at a time."""

    buffer: list[dict[str, Any]] = field(default_factory=list)  # fetched, not yet done
    busy: bool = False  # a batch of it is with the handler
    delivered_through: int = -1  # highest sequence number handed to the handler so far
    failing_sequence: str | None = None  # the record the last failed deliveries stopped at
    attempts: int = 0  # deliveries that failed at failing_sequence
    batch_limit: int | None = None  # set while bisecting a failing batch
    retry_at: float = 0.0


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    lanes: list[_Lane]
    iterator: str | None = None
    opened: bool = False
    exhausted: bool = False  # closed shard read to its end: no more records will come
    last_fetched_sequence: str | None = None
    empty_poll_tick: int = -1  # tick of the last poll that found nothing left to do

    @property
    def pending(self) -> int:
        """Records fetched and not yet handled (or given up), in every lane."""
        return sum(len(lane.buffer) for lane in self.lanes)

    @property
    def finished(self) -> bool:
        return self.exhausted and not self.pending

    def lane_of(self, record: Mapping[str, Any]) -> _Lane:
        if len(self.lanes) == 1:
            return self.lanes[0]
        return self.lanes[lane_index(record["dynamodb"].get("Keys") or {}, len(self.lanes))]


def lane_index(keys: Mapping[str, Any], lanes: int) -> int:
    """The lane of an item's records: its whole key (partition and sort key) hashed, as Lambda
    keeps an item's records in order across a shard's concurrent batches."""
    text = json.dumps(keys, sort_keys=True, default=repr)  # repr: binary key attributes, stably
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % lanes


@dataclass
class _Outcome:
    failed_index: int | None = None  # None: the whole batch succeeded
    whole_batch: bool = False  # the handler raised (or answered unusably)
    error: dict[str, str] = field(default_factory=dict)


class _ConsumerWorker:
    """Reads every shard of one stream for one consumer, in one thread (a shard at a time)."""

    def __init__(self, poller: StreamPoller, consumer: StreamConsumer) -> None:
        self.poller = poller
        self.consumer = consumer
        self.shards: dict[str, _Shard] = {}
        self.finished_shards: set[str] = set()
        self.discovery_tick = -1
        self.wake = threading.Event()  # cuts the idle sleep short
        self.discover_requested = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"stream-poller-{consumer.name}", daemon=True)
        self._client: Any = None
        self._stream_gone = False
        self._next_discovery = 0.0
        self._last_error_logged = 0.0
        # Lane state is shared with the delivery threads of a parallelized consumer. Order: this
        # lock, then the poller's condition, never the other way (drain() reads without it).
        self._lanes_lock = threading.Lock()
        self._deliveries: set[threading.Thread] = set()

    def delivery_threads(self) -> list[threading.Thread]:
        with self._lanes_lock:
            return list(self._deliveries)

    def request_discovery(self) -> None:
        self.discover_requested.set()
        self.wake.set()

    def quiet_since(self, mark: int) -> bool:
        """Called by drain() under the poller's condition."""
        if self.discovery_tick <= mark:
            return False
        return all(not shard.pending and shard.empty_poll_tick > mark for shard in self.shards.copy().values())

    def _run(self) -> None:
        while not self.poller._stop.is_set():
            try:
                did_work = self._cycle()
            except Exception:  # a bug or an unreachable endpoint must not end the thread
                self._log_error_rate_limited("Stream consumer %s failed a polling cycle", self.consumer.name)
                did_work = False
            self.poller._notify()
            if not did_work:
                self.wake.wait(self.poller.poll_interval)
                self.wake.clear()

    def _cycle(self) -> bool:
        if self._client is None:
            self._client = self.poller._client()
        if self.discover_requested.is_set() or time.monotonic() >= self._next_discovery:
            self.discover_requested.clear()
            self._discover()
        did_work = False
        for shard in list(self.shards.values()):
            if self.poller._stop.is_set():
                break
            if shard.parent_id in self.shards:
                continue  # children wait until their parent is read, which keeps per-key order
            did_work |= self._step(shard)
            if shard.finished:
                del self.shards[shard.shard_id]
                self.finished_shards.add(shard.shard_id)
                self.discover_requested.set()  # a closed shard usually has children by now
                did_work = True
        return did_work

    def _discover(self) -> None:
        tick = self.poller._next_tick()
        interval = _DISCOVERY_INTERVAL
        try:
            described = self._describe_all_shards()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            if not self._stream_gone:
                logger.warning("Stream of consumer %s is gone (table deleted?)", self.consumer.name)
            self._stream_gone = True
            self.shards.clear()
            interval = _GONE_RECHECK_INTERVAL
        else:
            self._stream_gone = False
            for raw_shard in described:
                shard_id = raw_shard["ShardId"]
                if shard_id in self.shards or shard_id in self.finished_shards:
                    continue
                lanes = [_Lane() for _ in range(self.consumer.parallelization)]
                self.shards[shard_id] = _Shard(shard_id, raw_shard.get("ParentShardId"), lanes)
                logger.debug("Consumer %s found shard %s", self.consumer.name, shard_id)
        self._next_discovery = time.monotonic() + interval
        self.discovery_tick = tick

    def _describe_all_shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": self.consumer.stream_arn}
        while True:
            description = self._client.describe_stream(**request)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            request["ExclusiveStartShardId"] = last

    def _step(self, shard: _Shard) -> bool:
        """Fetch what the shard has and start a batch in each idle lane; True when anything happened."""
        did_work = False
        if not shard.exhausted and shard.pending < self.consumer.batch_size * len(shard.lanes):
            did_work |= self._fetch(shard)
        for lane in shard.lanes:
            with self._lanes_lock:
                ready = bool(lane.buffer) and not lane.busy and time.monotonic() >= lane.retry_at
                if ready:
                    lane.busy = True
            if ready:
                self._deliver(shard, lane)
                did_work = True
        return did_work

    def _fetch(self, shard: _Shard) -> bool:
        tick = self.poller._next_tick()
        if not shard.opened:
            shard.iterator = self._open_iterator(shard)
            shard.opened = True
        if shard.iterator is None:
            shard.exhausted = True
            return False
        try:
            response = self._client.get_records(ShardIterator=shard.iterator, Limit=_GET_RECORDS_LIMIT)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                logger.info("Consumer %s reopens shard %s (%s)", self.consumer.name, shard.shard_id, code)
                shard.opened = False
                return True
            if code == "ResourceNotFoundException":
                shard.exhausted = True  # the shard (or its table) went away
                return True
            raise
        records = response.get("Records", [])
        with self._lanes_lock:
            for record in records:
                shard.lane_of(record).buffer.append(record)
        if records:
            shard.last_fetched_sequence = sequence_number(records[-1])
        shard.iterator = response.get("NextShardIterator")
        if shard.iterator is None:
            shard.exhausted = True
        if not shard.pending:
            shard.empty_poll_tick = tick
        return bool(records)

    def _open_iterator(self, shard: _Shard) -> str | None:
        request: dict[str, Any] = {"StreamArn": self.consumer.stream_arn, "ShardId": shard.shard_id}
        if shard.last_fetched_sequence is not None:
            request["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            request["SequenceNumber"] = shard.last_fetched_sequence
        elif shard.parent_id is not None:
            # A child shard holds the records that follow its parent's: read it from the start.
            request["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            request["ShardIteratorType"] = self.consumer.starting_position
        iterator: str | None = self._client.get_shard_iterator(**request).get("ShardIterator")
        return iterator

    # -- delivery -----------------------------------------------------------------------

    def _deliver(self, shard: _Shard, lane: _Lane) -> None:
        """Hand the lane's next batch to the handler: in this thread for a consumer of one lane a
        shard, else in a thread of its own, the worker going on with the other lanes."""
        consumer = self.consumer
        with self._lanes_lock:
            limit = min(consumer.batch_size, lane.batch_limit or consumer.batch_size)
            batch = lane.buffer[:limit]
            is_retry = int(sequence_number(batch[0])) <= lane.delivered_through
            lane.delivered_through = max(lane.delivered_through, int(sequence_number(batch[-1])))
        with self.poller._progress:  # counted before the call returns: drain() must see it in flight
            self.poller._deliveries_in_flight += 1
            self.poller._deliveries_started += 1
            self.poller._stats.batches += 1
            self.poller._stats.retries += int(is_retry)
        if len(shard.lanes) == 1:
            self._handle(shard, lane, batch)
            return
        thread = threading.Thread(
            target=self._handle, args=(shard, lane, batch), name=f"stream-lane-{consumer.name}", daemon=True
        )
        with self._lanes_lock:
            self._deliveries.add(thread)
        thread.start()

    def _handle(self, shard: _Shard, lane: _Lane, batch: list[dict[str, Any]]) -> None:
        try:
            outcome = self._invoke(batch, shard)
            with self._lanes_lock:
                self._settle(shard, lane, batch, outcome)
        except Exception:  # a bug here must not leave the lane busy for ever
            self._log_error_rate_limited("Stream consumer %s failed to settle a batch", self.consumer.name)
        finally:
            with self._lanes_lock:
                lane.busy = False
                self._deliveries.discard(threading.current_thread())
            with self.poller._progress:
                self.poller._deliveries_in_flight -= 1
                self.poller._progress.notify_all()
            if len(shard.lanes) > 1:
                self.wake.set()  # the lane's next batch need not wait for the poll interval

    def _invoke(self, batch: list[dict[str, Any]], shard: _Shard) -> _Outcome:
        consumer = self.consumer
        region, stream_arn = self.poller.region, consumer.stream_arn
        event = {"Records": [to_lambda_record(raw, region=region, stream_arn=stream_arn) for raw in batch]}
        context = LambdaContext(
            consumer.function_name or consumer.name, region=region, account_id=self.poller.account_id
        )
        try:
            response = consumer.handler(event, context)
        except Exception as exc:
            logger.exception(
                "Handler %s raised on %d record(s) from shard %s starting at %s",
                consumer.name,
                len(batch),
                shard.shard_id,
                sequence_number(batch[0]),
            )
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return _Outcome(0, whole_batch=True, error={**error, "stackTrace": traceback.format_exc()})
        failed_index, problem = first_failed_index(response, batch)
        if failed_index is None:
            return _Outcome()
        logger.warning("Handler %s %s (shard %s)", consumer.name, problem, shard.shard_id)
        unusable = problem is not None and "whole batch" in problem
        return _Outcome(
            failed_index,
            whole_batch=unusable,
            error={"errorType": "BatchItemFailure", "errorMessage": problem or ""},
        )

    def _settle(self, shard: _Shard, lane: _Lane, batch: list[dict[str, Any]], outcome: _Outcome) -> None:
        consumer = self.consumer
        if outcome.failed_index is None:
            self._checkpoint(lane, len(batch))
            lane.failing_sequence, lane.attempts, lane.batch_limit = None, 0, None
            return
        self._checkpoint(lane, outcome.failed_index)
        remaining = batch[outcome.failed_index :]
        lane.retry_at = time.monotonic() + consumer.retry_delay
        if consumer.bisect_on_error and outcome.whole_batch and len(remaining) > 1:
            # Splitting does not use up an attempt (as with Lambda's BisectBatchOnFunctionError).
            lane.batch_limit = max(1, len(remaining) // 2)
            return
        failing_sequence = sequence_number(remaining[0])
        if lane.failing_sequence == failing_sequence:
            lane.attempts += 1
        else:
            lane.failing_sequence, lane.attempts = failing_sequence, 1
        if lane.attempts < consumer.max_attempts:
            return
        # Bisection would have isolated the failing record; without it Lambda drops the batch.
        given_up = remaining[:1] if consumer.bisect_on_error else remaining
        self._give_up(shard, lane, given_up, outcome.error)
        del lane.buffer[: len(given_up)]
        lane.failing_sequence, lane.attempts, lane.batch_limit = None, 0, None
        lane.retry_at = 0.0

    def _checkpoint(self, lane: _Lane, count: int) -> None:
        if count <= 0:
            return
        del lane.buffer[:count]
        with self.poller._progress:
            self.poller._stats.records += count

    def _give_up(self, shard: _Shard, lane: _Lane, records: list[dict[str, Any]], error: dict[str, str]) -> None:
        consumer = self.consumer
        region, account = self.poller.region, self.poller.account_id
        lambda_records = [to_lambda_record(raw, region=region, stream_arn=consumer.stream_arn) for raw in records]
        first_created = lambda_records[0]["dynamodb"].get("ApproximateCreationDateTime")
        last_created = lambda_records[-1]["dynamodb"].get("ApproximateCreationDateTime")
        entry = {
            "timestamp": datetime.now(UTC).isoformat(),
            "consumer": consumer.name,
            "requestContext": {
                "functionArn": f"arn:aws:lambda:{region}:{account}:function:{consumer.function_name}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": lane.attempts,
            },
            "responseContext": {"functionError": error.get("errorType", "")},
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": sequence_number(records[0]),
                "endSequenceNumber": sequence_number(records[-1]),
                "approximateArrivalOfFirstRecord": first_created,
                "approximateArrivalOfLastRecord": last_created,
                "batchSize": len(records),
                "streamArn": consumer.stream_arn,
            },
            "error": error,
            "records": lambda_records,
        }
        self.poller._write_failure(entry)
        with self.poller._progress:
            self.poller._stats.failures += len(records)
        logger.error(
            "Consumer %s gave up on %d record(s) from sequence %s after %d attempts; written to %s",
            consumer.name,
            len(records),
            sequence_number(records[0]),
            lane.attempts,
            self.poller.failure_log,
        )

    def _log_error_rate_limited(self, message: str, *args: object) -> None:
        # An endpoint that went away would otherwise log a stack trace every poll interval.
        now = time.monotonic()
        if now - self._last_error_logged > 10.0:
            self._last_error_logged = now
            logger.exception(message, *args)


__all__ = [
    "LambdaContext",
    "StreamConsumer",
    "StreamPoller",
    "first_failed_index",
    "lane_index",
    "to_lambda_record",
]
