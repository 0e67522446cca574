-- check.lua: wrk script posting consultation checks (POST /v1/checks).
-- Each request takes the next body of a pre-generated list (one JSON body a
-- line, from split.py), each wrk thread starting at its own offset, so that
-- the server sees many different persons rather than one cached probe.
-- Environment: CHECK_BODIES (the .jsonl file), CHECK_KEY (a caseworker key).
-- done() prints one "wrk_result" line of key=value pairs for run.sh.

local bodies = {}
for line in io.lines(os.getenv("CHECK_BODIES")) do
    bodies[#bodies + 1] = line
end
local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("CHECK_KEY"),
}
local next_thread = 0
local pos = 0

function setup(thread)
    thread:set("thread_no", next_thread)
    next_thread = next_thread + 1
end

function init(args)
    -- thread_no is set by setup() before init runs in the thread's state
    pos = (thread_no or 0) * 7919 % #bodies
end

function request()
    pos = pos % #bodies + 1
    return wrk.format("POST", "/v1/checks", headers, bodies[pos])
end

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
