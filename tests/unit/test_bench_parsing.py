"""The benchmark harness reads wrk's figures correctly."""

from bench.wrk import lua_script, parse_wrk

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:18555/thing
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.74ms   12.88ms 115.81ms   93.42%
  Latency Distribution
     50%  780.00us
     75%    7.93ms
     90%   14.58ms
     99%    1.20s
  10204 requests in 3.08s, 2.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   3312.53
"""


def test_wrk_output_is_parsed_into_rate_percentiles_and_errors():
    result = parse_wrk("bare", WRK_OUTPUT)
    assert result.requests_per_s == 3312.53
    assert result.requests == 10204
    assert result.p50_ms == 0.78
    assert result.p99_ms == 1200.0
    assert result.errors == 12


def test_post_scripts_number_each_body():
    script = lua_script(method="POST", headers={"X-A": "1"}, body_template='{"code": "B{n}"}')
    assert 'wrk.method = "POST"' in script and 'wrk.headers["X-A"] = "1"' in script
    assert '{\\"code\\": \\"B{n}\\"}' in script and "counter = counter + 1" in script
