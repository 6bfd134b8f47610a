"""The platform as real processes: a local broker and the five services, each on its own port.

`make run` uses it, and so do tests and benchmarks that need real processes (to kill one,
pause the broker, or measure with a load generator that shares nothing with them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

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
        first = self.services["grid-svc"]
        subprocess.run([sys.executable, "-m", first.package, "topics"], env=first.env, check=True, capture_output=True)
        for service in self.services.values():
            subprocess.run([sys.executable, "-m", service.package, "migrate"], env=service.env, check=True, capture_output=True)
        for service in self.services.values():
            self.start_service(service.name)
        for service in self.services.values():
            wait_for_port(service.port, timeout=60)
        self.wait_ready("gateway", timeout=ready_timeout)

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
