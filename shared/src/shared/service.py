"""The one place a service is wired: app factory, lifespan, and the dependencies views use.

Every service's `main.create_app()` calls `build_service_app(...)` with its settings, tables,
routers and consumers, so all five services start, stop and report health the same way.
Nothing is built at import time; the lifespan builds the engine, producer, relay and consumers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request

from shared.database import Database
from shared.events.base import DomainEvent
from shared.events.topics import all_topics
from shared.inbox import EventConsumer, Handler
from shared.kafka import EventBus, ensure_topics
from shared.observability import NO_OPENTELEMETRY, Metrics, RequestContextMiddleware, configure_logging, health_router
from shared.outbox import OutboxWriter, Relay
from shared.problems import PROBLEM_RESPONSES, install_problem_handlers
from shared.retention import Retention
from shared.routing import add_routers
from shared.settings import ServiceSettings
from shared.tables import PlatformTables

log = structlog.get_logger("shared.service")


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group of this service: `name` is `<svc>.<purpose>` and the group id."""

    name: str
    topics: list[str]
    handlers: Mapping[type[DomainEvent], Handler]


@dataclass
class Runtime:
    """What the lifespan built, reachable as `app.state.runtime`."""

    settings: ServiceSettings
    database: Database
    bus: EventBus
    relay: Relay
    consumers: list[EventConsumer] = field(default_factory=list)
    background: list[asyncio.Task] = field(default_factory=list)


Startup = Callable[[FastAPI, Runtime], Awaitable[None]]


def build_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    tables: PlatformTables,
    routers: Sequence[APIRouter],
    consumers: Sequence[ConsumerSpec] = (),
    on_startup: Startup | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    """Assemble a FastAPI app whose lifespan runs the outbox relay and the consumers."""
    configure_logging(settings.log_level, json_lines=settings.log_json)
    metrics = Metrics(settings.service_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            read_pool_size=settings.database_read_pool_size,
            outbox=OutboxWriter(tables.outbox, source=settings.event_source, max_bytes=settings.event_max_bytes),
        )
        bus = EventBus(
            settings.kafka_bootstrap_servers,
            enable_idempotence=settings.kafka_enable_idempotence,
            request_timeout_s=settings.kafka_request_timeout_s,
            max_message_bytes=settings.event_max_bytes,
        )
        relay = Relay(
            database=database, table=tables.outbox, bus=bus, source=settings.event_source, batch_size=settings.relay_batch_size
        )
        runtime = Runtime(settings=settings, database=database, bus=bus, relay=relay)
        app.state.runtime = runtime
        runtime.background.append(asyncio.create_task(_ensure_topics_forever(settings), name="ensure-topics"))
        retention = Retention(
            database, tables, outbox_keep=settings.outbox_keep, inbox_keep=settings.inbox_keep,
            idempotency_keep=settings.idempotency_keep, every_s=settings.retention_every_s,
        )
        runtime.background.append(asyncio.create_task(retention.run_forever(), name="retention"))
        relay.start()
        for spec in consumers:
            consumer = EventConsumer(
                name=spec.name,
                database=database,
                inbox=tables.inbox,
                bus=bus,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topics=spec.topics,
                handlers=spec.handlers,
                max_attempts=settings.consumer_max_attempts,
                session_timeout_ms=settings.kafka_session_timeout_ms,
                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            )
            consumer.start()
            runtime.consumers.append(consumer)
        metrics.watch_events(relay, runtime.consumers)
        if on_startup is not None:
            await on_startup(app, runtime)
        log.info("service.started", service=settings.service_name)
        try:
            yield
        finally:
            for task in runtime.background:
                task.cancel()
            await asyncio.gather(*(c.stop() for c in runtime.consumers), return_exceptions=True)
            await relay.stop()
            await bus.close()
            # asyncio.wait returns at the deadline whatever the disposal does with a cancellation.
            disposal = asyncio.ensure_future(database.dispose())
            if not (await asyncio.wait({disposal}, timeout=10))[0]:
                log.warning("database.dispose_timeout")
            log.info("service.stopped", service=settings.service_name)

    app = FastAPI(
        title=title, description=description, version=version, lifespan=lifespan, responses=PROBLEM_RESPONSES,
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)

    async def database_ready() -> bool:
        await app.state.runtime.database.ping()
        return True

    async def broker_ready() -> bool:
        return await app.state.runtime.bus.ready()

    add_routers(app, [health_router(metrics, {"database": database_ready, "broker": broker_ready}), *routers])
    return app


async def _ensure_topics_forever(settings: ServiceSettings) -> None:
    # The broker may come up after the service: keep trying in the background.
    delay = 0.5
    while True:
        try:
            await ensure_topics(
                settings.kafka_bootstrap_servers,
                all_topics(),
                partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
            return
        except Exception as exc:
            log.warning("topics.retry", error=repr(exc), delay_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _database(request: Request) -> Database:
    # async so FastAPI calls it inline instead of in a worker thread (see identity.current_identity)
    return request.app.state.runtime.database


DatabaseDep = Annotated[Database, Depends(_database)]
