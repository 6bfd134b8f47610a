"""The benchmark harness reads wrk's output, computes percentiles and checks targets correctly."""

from bench.__main__ import Runner, _checks
from bench.probe import ProbeResult, percentile, split_warmup
from bench.report import at_least, markdown, ratio, with_bare
from bench.wrk import LoadResult, lua_script, parse_wrk

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:8001/api/v1/grid/units/x
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.31ms    3.02ms  48.10ms   90.12%
    Req/Sec     2.61k   120.33     2.80k    80.00%
  Latency Distribution
     50%   11.84ms
     75%   13.02ms
     90%   14.77ms
     99%    1.20s
  7812 requests in 3.00s, 3.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   2603.55
Transfer/sec:      1.03MB
"""


def test_wrk_output_gives_rate_percentiles_and_every_kind_of_error():
    result = parse_wrk("grid read", WRK_OUTPUT)
    assert result.requests_per_s == 2603.55
    assert result.requests == 7812
    assert result.p50_ms == 11.84
    assert result.p99_ms == 1200.0
    assert result.errors == 7 + 2 + 3


def test_microsecond_latencies_are_converted_to_milliseconds():
    output = (
        WRK_OUTPUT.replace("11.84ms", "850.00us")
        .replace("Socket errors: connect 0, read 2, write 0, timeout 3\n", "")
        .replace("  Non-2xx or 3xx responses: 7\n", "")
    )
    result = parse_wrk("bare", output)
    assert result.p50_ms == 0.85
    assert result.errors == 0


def test_post_script_numbers_each_body_and_escapes_quotes():
    script = lua_script(method="POST", headers={"X-Test": "1"}, body_template='{"code": "B{n}"}')
    assert 'wrk.method = "POST"' in script
    assert 'wrk.headers["X-Test"] = "1"' in script
    assert '\\"code\\": \\"B{n}\\"' in script
    assert "counter = counter + 1" in script


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0
    assert percentile([7.0], 99) == 7.0


def test_ratios_and_targets_in_the_report():
    bare = LoadResult("bare FastAPI endpoint", 10_000.0, 2.0, 5.0, 30_000, 0)
    read = LoadResult("read by id: grid unit", 2_000.0, 10.0, 30.0, 6_000, 0)
    assert ratio(read, bare) == 0.2
    check = at_least("read by id: grid unit", ratio(read, bare), 0.25)
    assert not check.met
    assert check.measured == "0.200×"
    text = markdown("stamp", [bare, read], None, [check], {"size": "town", "duration_s": 3, "connections": 32})
    assert "| read by id: grid unit | 2000 | 0.200 | 10.0 | 30.0 | 0 |" in text
    assert "| read by id: grid unit | ≥ 0.25× | 0.200× | **no** |" in text



def test_each_figure_is_a_ratio_to_the_faster_of_the_bare_endpoints_measured_around_its_group():
    first_bare = LoadResult("bare FastAPI endpoint", 10_000.0, 2.0, 5.0, 30_000, 0)
    read = LoadResult("read by id: grid unit", 2_600.0, 10.0, 30.0, 7_800, 0)
    later_bare = LoadResult("bare FastAPI endpoint (again, before the stats)", 5_000.0, 4.0, 9.0, 15_000, 0)
    balance = LoadResult("member balance", 650.0, 40.0, 90.0, 1_950, 0)
    runner = Runner(duration=3, connections=32)
    for result in (first_bare, read, later_bare, balance):
        runner.results.append(result)
        runner.by_name[result.scenario] = result
    text = markdown("stamp", runner.results, None, [], {"size": "town"})
    assert "| read by id: grid unit | 2600 | 0.260 |" in text
    assert "| member balance | 650 | 0.130 |" in text  # 650 / 5,000, not / 10,000
    checks = {check.target: check for check in _checks(runner, None)}
    assert checks["read by id: grid unit"].met
    # Costs compare the two figures' ratios: 0.26 / 0.13, not 2,600 / 650.
    assert checks["member balance (cost vs read by id)"].measured == "2.00×"


def test_a_low_bare_reading_before_a_group_does_not_flatter_it():
    results = [
        LoadResult("bare FastAPI endpoint", 6_000.0, 4.0, 9.0, 18_000, 0),
        LoadResult("read by id: grid unit", 2_400.0, 10.0, 30.0, 7_200, 0),
        LoadResult("bare FastAPI endpoint (again, before the lists)", 9_600.0, 3.0, 7.0, 28_800, 0),
        LoadResult("scoped list of 50: grid households", 960.0, 30.0, 90.0, 2_880, 0),
        LoadResult("bare FastAPI endpoint (again, at the end)", 8_000.0, 3.0, 8.0, 24_000, 0),
    ]
    bare_of = {result.scenario: bare.scenario for result, bare in with_bare(results)}
    assert bare_of["read by id: grid unit"] == "bare FastAPI endpoint (again, before the lists)"  # 0.25x, not 0.40x
    assert bare_of["scoped list of 50: grid households"] == "bare FastAPI endpoint (again, before the lists)"
    assert bare_of["bare FastAPI endpoint (again, at the end)"] == "bare FastAPI endpoint (again, at the end)"
    text = markdown("stamp", results, None, [], {"size": "town"})
    assert "| read by id: grid unit | 2400 | 0.250 |" in text
    assert "| scoped list of 50: grid households | 960 | 0.100 |" in text


def test_subtree_stats_under_the_town_and_under_the_county_are_each_checked_against_a_read():
    runner = Runner(duration=3, connections=32)
    for result in (
        LoadResult("bare FastAPI endpoint", 10_000.0, 2.0, 5.0, 30_000, 0),
        LoadResult("read by id: grid unit", 2_500.0, 10.0, 30.0, 7_500, 0),
        LoadResult("subtree stats: grid counts under the town", 1_250.0, 20.0, 60.0, 3_750, 0),
        LoadResult("subtree stats: grid counts under the county", 50.0, 600.0, 900.0, 150, 0),
    ):
        runner.results.append(result)
        runner.by_name[result.scenario] = result
    checks = {check.target: check for check in _checks(runner, None)}
    town, county = (checks[f"subtree stats: grid counts under the {place} (cost vs read by id)"] for place in ("town", "county"))
    assert (town.measured, town.met) == ("2.00×", True)
    assert (county.measured, county.met) == ("50.00×", False)


def _probe(achieved_rate: float, p99_ms: float) -> ProbeResult:
    return ProbeResult(
        scenario="event end-to-end at 200/s (grid units in batches of 20 → dispatch replica)",
        target_rate=200,
        achieved_rate=achieved_rate,
        events=4000,
        seen=4000,
        lost=0,
        failed=0,
        create_p50_ms=40.0,
        create_p99_ms=80.0,
        p50_ms=30.0,
        p99_ms=p99_ms,
        max_ms=120.0,
        commit_stamp="outbox event time (just before the commit)",
        answer_p50_ms=12.0,
        answer_p99_ms=45.0,
        batch=20,
        p99_by_second=[140.0, 70.0, 66.0],
        warmup_s=2.0,
        warmup_events=400,
        warmup_p99_ms=210.0,
    )


def test_the_event_target_is_met_only_at_the_asked_rate():
    runner = Runner(duration=3, connections=32)
    runner.results.append(LoadResult("bare FastAPI endpoint", 10_000.0, 2.0, 5.0, 30_000, 0))
    [at_rate] = _checks(runner, _probe(achieved_rate=199.0, p99_ms=80.0))
    assert at_rate.met
    [too_slow] = _checks(runner, _probe(achieved_rate=92.0, p99_ms=80.0))
    assert not too_slow.met and "at 92/s achieved" in too_slow.measured
    [too_late] = _checks(runner, _probe(achieved_rate=200.0, p99_ms=101.0))
    assert not too_late.met


def test_the_report_gives_the_event_probe_in_full():
    bare = LoadResult("bare FastAPI endpoint", 10_000.0, 2.0, 5.0, 30_000, 0)
    text = markdown("stamp", [bare], _probe(achieved_rate=199.0, p99_ms=80.0), [], {"size": "town"})
    assert "4000 events at 199/s achieved; commit → effect p50 30.0 ms, p99 80.0 ms" in text
    assert "counted from the 201 answer instead (a lower bound): p50 12.0 ms, p99 45.0 ms" in text
    assert "20 unit(s) per create request" in text
    assert "p99 of each second's events (ms): 140, 70, 66." in text
    assert "After a warm-up of 2 s at the same rate, left out of these figures (400 events, p99 210.0 ms)" in text


def test_the_probe_measures_the_events_of_the_ticks_after_its_warm_up():
    tick_of = {f"unit-{n}": n // 2 for n in range(10)}  # two units a tick, ticks 0–4
    measured, warm = split_warmup(tick_of, warm_ticks=2)
    assert sorted(warm) == ["unit-0", "unit-1", "unit-2", "unit-3"]
    assert sorted(measured) == [f"unit-{n}" for n in range(4, 10)]
    assert split_warmup(tick_of, warm_ticks=0) == (list(tick_of), [])


def test_the_report_gives_each_phase_fetch_wait_and_idle_cpu():
    bare = LoadResult("bare FastAPI endpoint", 10_000.0, 2.0, 5.0, 30_000, 0)
    context = {
        "size": "town",
        "fetch_wait_ms": {"requests": "500", "events": "20"},
        "idle_cpu_percent": {"requests": {"points-svc": 0.4, "gateway": 0.0}, "events": {"points-svc": 9.1, "gateway": 0.2}},
    }
    text = markdown("stamp", [bare], None, [], context)
    assert "fetch wait for the requests phase: 500 ms; each process's CPU while idle then (% of a core): points-svc 0.4, gateway 0.0." in text
    assert "fetch wait for the events phase: 20 ms; each process's CPU while idle then (% of a core): points-svc 9.1, gateway 0.2." in text
