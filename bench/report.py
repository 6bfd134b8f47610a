"""Markdown and JSON reports: every figure beside the bare endpoint of the same run, and the issue's targets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.probe import ProbeResult
from bench.wrk import LoadResult


@dataclass
class Check:
    """One target of the issue and whether this run met it."""

    target: str
    wanted: str
    measured: str
    met: bool


BARE = "bare FastAPI endpoint"


def with_bare(results: list[LoadResult]) -> list[tuple[LoadResult, LoadResult]]:
    """Each result beside the bare endpoint it is compared with: the faster of the bare endpoint measured last before
    it and the one measured next after it (a bare endpoint is its own). A run measures the bare endpoint again before
    each group of scenarios and once at the end: on a shared machine its rate drifts over a run, and a figure compares
    best with the bare endpoint of the same minutes, the faster one so that one low reading flatters no group."""
    bare_at = [i for i, result in enumerate(results) if result.scenario.startswith(BARE)]
    pairs = []
    for i, result in enumerate(results):
        if i in bare_at:
            pairs.append((result, result))
            continue
        around = [results[j] for j in bare_at if j < i][-1:] + [results[j] for j in bare_at if j > i][:1]
        pairs.append((result, max(around or results[:1], key=lambda bare: bare.requests_per_s)))
    return pairs


def ratio(result: LoadResult, bare: LoadResult) -> float:
    """req/s as a fraction of the bare endpoint's."""
    return result.requests_per_s / bare.requests_per_s if bare.requests_per_s else 0.0


def at_least(target: str, measured: float, wanted: float, *, unit: str = "×") -> Check:
    """A check of a ratio that must reach `wanted`."""
    return Check(target, f"≥ {wanted:g}{unit}", f"{measured:.3f}{unit}", measured >= wanted)


def write_reports(
    out: Path,
    *,
    results: list[LoadResult],
    probe: ProbeResult | None,
    checks: list[Check],
    context: dict,
) -> tuple[Path, Path]:
    """Write `<stamp>.md` and `<stamp>.json` under `out`; the two paths."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data = {
        "when": stamp,
        **context,
        "results": [{**r.as_dict(), "ratio_to_bare": round(ratio(r, bare), 4), "bare": bare.scenario} for r, bare in with_bare(results)],
        "event_latency": probe.as_dict() if probe else None,
        "targets": [asdict(c) for c in checks],
    }
    json_path = out / f"{stamp}.json"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    md_path = out / f"{stamp}.md"
    md_path.write_text(markdown(stamp, results, probe, checks, context))
    return md_path, json_path


def markdown(stamp: str, results: list[LoadResult], probe: ProbeResult | None, checks: list[Check], context: dict) -> str:
    """The report as Markdown."""
    lines = [
        f"# Benchmark {stamp} — size `{context.get('size')}`",
        "",
        f"{context.get('duration_s')} s per scenario, {context.get('connections')} connections; services pinned to core 0 "
        f"on PostgreSQL with the local broker, wrk pinned to core 1. Load average before the run: {context.get('load_before')}, "
        f"after: {context.get('load_after')}.",
        "",
    ]
    if context.get("data"):
        data = context["data"]
        lines += [
            f"Data: {', '.join(f'{v:,} {k}' for k, v in data.get('counts', {}).items())}; loaded through the gateway in "
            f"{data.get('seconds', 0):.0f} s ({data.get('households_per_s', 0):.1f} households/s).",
            "",
        ]
        if context.get("size_reached") is False:
            lines += ["The load was stopped early (`--load-minutes`): the figures are at the size above, not the whole size's.", ""]
    emptied = context.get("broker_emptied")
    if emptied and emptied.get("times"):
        lines += [
            f"The local broker (every event in memory, no retention) was emptied {emptied['times']} times, every "
            f"{emptied['every_towns']} towns and after the load, once every event had been applied: {emptied['seconds']:.0f} s "
            "of the loading time.",
            "",
        ]
    for phase, idle in context.get("idle_cpu_percent", {}).items():
        wait = context.get("fetch_wait_ms", {}).get(phase)
        lines += [
            f"Consumers' fetch wait for the {phase} phase: {wait} ms; each process's CPU while idle then (% of a core): "
            f"{', '.join(f'{name} {value:.1f}' for name, value in idle.items())}.",
            "",
        ]
    lines += [
        "Each ratio is to the faster of the bare endpoint's measurements just before and just after the scenario's group "
        "(it is measured first, again before each group of scenarios, and at the end).",
        "",
        "| scenario | req/s | × bare | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r, bare in with_bare(results):
        lines.append(
            f"| {r.scenario} | {r.requests_per_s:.0f} | {ratio(r, bare):.3f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
        )
    if probe is not None:
        lines += [
            "",
            f"**{probe.scenario}**: {probe.events} events at {probe.achieved_rate:.0f}/s achieved; commit → effect "
            f"p50 {probe.p50_ms:.1f} ms, p99 {probe.p99_ms:.1f} ms, max {probe.max_ms:.1f} ms; "
            f"{probe.lost} not seen, {probe.failed} creates failed. After a warm-up of {probe.warmup_s:g} s at the same "
            f"rate, left out of these figures ({probe.warmup_events} events, p99 {probe.warmup_p99_ms:.1f} ms). "
            f"(The creating request itself: p50 {probe.create_p50_ms:.1f} ms, p99 {probe.create_p99_ms:.1f} ms.)",
            "",
            f"Commit time: {probe.commit_stamp}; counted from the 201 answer instead (a lower bound): "
            f"p50 {probe.answer_p50_ms:.1f} ms, p99 {probe.answer_p99_ms:.1f} ms. "
            f"{probe.batch} unit(s) per create request. Replica polled with gaps of p99 {probe.poll_gap_p99_ms:.1f} ms; "
            f"{probe.seen_at_first_look} units already there at their first look (upper bounds). "
            f"Waited {probe.waited_for_quiet_s:.1f} s for the consumer to be quiet first. "
            f"p99 of each second's events (ms): {', '.join(f'{v:.0f}' for v in probe.p99_by_second)}.",
        ]
    if checks:
        lines += ["", "| target | wanted | measured | met |", "|---|---|---|---|"]
        for c in checks:
            lines.append(f"| {c.target} | {c.wanted} | {c.measured} | {'yes' if c.met else '**no**'} |")
    return "\n".join(lines) + "\n"
