"""The platform as real processes: a local broker and the five services, each on its own port.

`make run` uses it, and so do tests and benchmarks that need real processes (to kill one,
pause the broker, or measure with a load generator that shares nothing with them).
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import text

from shared.database import Database
from shared.testing import LocalBroker, free_port, wait_for_port

# name, Python package, default port; the gateway starts last, after the services it fronts.
SERVICES = [
    ("grid-svc", "grid_svc", 8001),
    ("points-svc", "points_svc", 8002),
    ("dispatch-svc", "dispatch_svc", 8003),
    ("legal-svc", "legal_svc", 8004),
    ("gateway", "gateway", 8000),
]
_URL_SETTINGS = {"grid-svc": "GRID_URL", "points-svc": "POINTS_URL", "dispatch-svc": "DISPATCH_URL", "legal-svc": "LEGAL_URL"}


@dataclass
class ServiceProcess:
    """One service process and where it listens and logs."""

    name: str
    package: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Base URL of the service."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ProcessStack:
    """Broker + five services as processes, with SQLite files under `var` unless URLs are given."""

    var: Path
    broker_port: int | None = None
    default_ports: bool = False
    database_urls: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # e.g. ["taskset", "-c", "0"] to pin the services to one core while a load generator uses the other
    command_prefix: list[str] = field(default_factory=list)
    broker: LocalBroker | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(self, *, ready_timeout: float = 120.0) -> None:
        """Start the broker, create topics, migrate every database, start every service, wait until ready."""
        logs = self.var / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.broker = LocalBroker.start(self.broker_port, log_path=logs / "broker.log")
        ports = {name: (port if self.default_ports else free_port()) for name, _, port in SERVICES}
        base = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        base.update({"KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers, **self.extra_env})
        base.update({setting: f"http://127.0.0.1:{ports[name]}" for name, setting in _URL_SETTINGS.items()})
        for name, package, _ in SERVICES:
            env = dict(base)
            env["DATABASE_URL"] = self.database_urls.get(name) or f"sqlite+aiosqlite:///{self.var / (name + '.db')}"
            self.services[name] = ServiceProcess(name, package, ports[name], env, logs / f"{name}.log")
        self.create_topics()
        for service in self.services.values():
            subprocess.run([sys.executable, "-m", service.package, "migrate"], env=service.env, check=True, capture_output=True)
        for service in self.services.values():
            self.start_service(service.name)
        for service in self.services.values():
            wait_for_port(service.port, timeout=60)
        self.wait_ready("gateway", timeout=ready_timeout)

    def metric_samples(self, name: str) -> list[Sample]:
        """Every sample of the service's /metrics."""
        exposition = httpx.get(f"{self.services[name].url}/metrics", timeout=10).text
        return [sample for family in text_string_to_metric_families(exposition) for sample in family.samples]

    def consumers_assigned(self, name: str) -> list[bool]:
        """Whether each consumer of the service holds its partitions (none listed: empty)."""
        return [sample.value == 1 for sample in self.metric_samples(name) if sample.name == "consumer_assigned"]

    def wait_assigned(self, names: list[str], *, timeout: float = 120.0) -> None:
        """Block until every consumer of the (re)started services `names` that have consumers holds its partitions."""
        deadline = time.monotonic() + timeout
        # A restarted service lists its consumers once they have started: none listed yet is not ready either.
        while not all((flags := self.consumers_assigned(name)) and all(flags) for name in names):
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumers of {names} not assigned after {timeout:.0f}s")
            time.sleep(0.5)

    def wait_applied(self, names: list[str], *, timeout: float = 900.0) -> None:
        """Block until every event the services `names` published so far has been applied by each of their
        consumers: the outboxes empty, then each consumer's lag 0 as the broker told it after that, then the
        outboxes still empty (an applied event may have written one of its own, in the transaction that let the
        lag fall)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._unsent(names) == 0:
                checked = time.time()
                while (lags := self._lags(names)) and min(seen for _, seen in lags) < checked and time.monotonic() < deadline:
                    time.sleep(0.2)
                if all(lag == 0 and seen >= checked for lag, seen in lags) and self._unsent(names) == 0:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"events unapplied after {timeout:.0f}s: {self._unsent(names)} unsent, lags {self._lags(names)}")

    def empty_broker(self, names: list[str], *, timeout: float = 900.0) -> dict[str, float]:
        """Once every event is applied, replace the broker with an empty one and restart the services `names` (all
        those that publish or consume) on it, their consumers starting from the new topics' beginning; the seconds
        each step took. The local broker keeps every event in memory and ignores retention: a long load empties it
        this way, as retention would let a Kafka's old segments go. Refused if any event was dead-lettered (the
        dead-letter topics would go with the rest)."""
        started = time.monotonic()
        self.wait_applied(names, timeout=timeout)
        dead = sum(
            sample.value
            for name in names
            for sample in self.metric_samples(name)
            if sample.name == "events_consumed_total" and sample.labels["outcome"] == "dead_lettered"
        )
        if dead:
            raise RuntimeError(f"{dead:.0f} events were dead-lettered; emptying the broker would lose them")
        applied = time.monotonic()
        consuming = [name for name in names if self.consumers_assigned(name)]
        self.stop_services(names)
        assert self.broker is not None
        self.broker.stop()
        self.broker = LocalBroker.start(log_path=self.var / "logs" / "broker.log")
        for service in self.services.values():
            service.env["KAFKA_BOOTSTRAP_SERVERS"] = self.broker.bootstrap_servers
        self.create_topics()
        for name in names:
            self.start_service(name)
        for name in names:
            self.wait_ready(name, timeout=120)
        replaced = time.monotonic()
        self.wait_assigned(consuming)
        return {"applied": applied - started, "replaced": replaced - applied, "assigned": time.monotonic() - replaced}

    def _unsent(self, names: list[str]) -> int:
        """Outbox rows the services `names` have not yet published."""
        return sum(asyncio.run(_unsent_rows(self.services[name].env["DATABASE_URL"])) for name in names)

    def _lags(self, names: list[str]) -> list[tuple[float, float]]:
        """Each consumer's (lag, when the broker last told it its partitions' ends); (inf, 0) while unknown."""
        lags = []
        for name in names:
            samples = self.metric_samples(name)
            known = {s.labels["consumer"]: s.value for s in samples if s.name == "consumer_lag"}
            seen = {s.labels["consumer"]: s.value for s in samples if s.name == "consumer_lag_seen_timestamp_seconds"}
            for consumer in (s.labels["consumer"] for s in samples if s.name == "consumer_assigned"):
                lags.append((known.get(consumer, math.inf), seen.get(consumer, 0.0)))
        return lags

    def create_topics(self) -> None:
        """Create every topic on the broker (the services' `topics` command)."""
        first = self.services["grid-svc"]
        subprocess.run([sys.executable, "-m", first.package, "topics"], env=first.env, check=True, capture_output=True)

    def start_service(self, name: str) -> None:
        """(Re)start one service process."""
        service = self.services[name]
        log_file = open(service.log_path, "ab")  # noqa: SIM115 - owned by the child process
        service.process = subprocess.Popen(
            [*self.command_prefix, sys.executable, "-m", service.package, "serve", "--host", "127.0.0.1", "--port", str(service.port)],
            env=service.env,
            stdout=log_file,
            stderr=log_file,
        )

    def wait_ready(self, name: str, *, timeout: float = 120.0) -> None:
        """Block until the service's /readyz answers 200 (the gateway's covers all four services)."""
        url = f"{self.services[name].url}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{url} not ready after {timeout:.0f}s; logs in {self.var / 'logs'}")

    def signal_service(self, name: str, sig: signal.Signals) -> None:
        """Send a signal to one service (SIGKILL to crash it, SIGSTOP/SIGCONT to freeze it)."""
        process = self.services[name].process
        if process is not None and process.poll() is None:
            process.send_signal(sig)

    def stop_service(self, name: str, *, timeout: float = 20.0) -> None:
        """Stop one service gracefully (SIGINT, as Ctrl-C would), killing it if it does not go."""
        process = self.services[name].process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_services(self, names: list[str], *, timeout: float = 20.0) -> None:
        """Stop several services at once, each as `stop_service` does."""
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            list(pool.map(lambda name: self.stop_service(name, timeout=timeout), names))

    def exited(self) -> list[str]:
        """Names of services whose process has ended."""
        return [s.name for s in self.services.values() if s.process is not None and s.process.poll() is not None]

    def stop(self) -> None:
        """Stop every service, then the broker."""
        for name in reversed(list(self.services)):
            self.stop_service(name)
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


async def _unsent_rows(url: str) -> int:
    database = Database(url)
    try:
        async with database.reader.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))).scalar_one()
    finally:
        await database.dispose()
