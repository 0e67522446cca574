-- healthz.lua: wrk script for the reference throughput of GET /healthz,
-- printing the same "wrk_result" line as check.lua.
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "wrk_result requests=%d duration_s=%.2f req_s=%.1f p50_ms=%.3f p90_ms=%.3f " ..
        "p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
        latency:percentile(99) / 1e3, latency.max / 1e3, e.status,
        e.connect + e.read + e.write + e.timeout))
end
