"""Driving load with wrk (a C load generator pinned to its own core) and reading its figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class LoadResult:
    """What one wrk run measured."""

    scenario: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def as_dict(self) -> dict:
        """Plain data for the JSON report."""
        return asdict(self)


def lua_script(*, method: str = "GET", headers: dict[str, str] | None = None, body_template: str | None = None) -> str:
    """A wrk script sending fixed headers; `body_template` may contain {n}, replaced by a counter per request."""
    lines = [f'wrk.method = "{method}"']
    for name, value in (headers or {}).items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    if body_template is None:
        return "\n".join(lines) + "\n"
    template = body_template.replace("\\", "\\\\").replace('"', '\\"')
    lines += [
        "local counter = 0",
        "math.randomseed(os.time())",
        "local prefix = tostring(math.random(100000, 999999))",
        "request = function()",
        "  counter = counter + 1",
        f'  local body = string.gsub("{template}", "{{n}}", prefix .. "x" .. counter)',
        "  return wrk.format(nil, nil, nil, body)",
        "end",
    ]
    return "\n".join(lines) + "\n"


def run_wrk(
    scenario: str, url: str, *, script: str, duration_s: int = 10, connections: int = 32, cpu: int | None = 1
) -> LoadResult:
    """Run wrk against `url` and parse req/s, p50, p99 and errors."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian package `wrk`)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = Path(handle.name)
    command = [wrk, "-t1", f"-c{connections}", f"-d{duration_s}s", "--timeout", "30s", "--latency", "-s", str(script_path), url]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration_s + 60).stdout
    finally:
        script_path.unlink(missing_ok=True)
    return parse_wrk(scenario, output)


def parse_wrk(scenario: str, output: str) -> LoadResult:
    """Read wrk's --latency output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    percentiles = {p: _ms(v) for p, v in re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+\w+)", output, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return LoadResult(scenario, rps, percentiles.get("50", 0.0), percentiles.get("99", 0.0), requests, errors)


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * _UNITS[unit]
