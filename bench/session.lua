-- wrk script for bench/run.sh: the same script for every target, so that
-- wrk's own cost is the same for the ceiling and for the module.
--
--   wrk ... -s bench/session.lua URL -- PATH [COOKIE_FILE]
--
-- PATH: the location to request (/plain, /s, /d).
-- COOKIE_FILE: one "SESSION=..." value per line (bench/run.sh creates the
-- sessions first); the cookies are split between wrk's threads and each
-- thread cycles through its own, so every session is reused by one thread.
-- Without a cookie file (or an empty one) no Cookie header is sent: every
-- request to the module creates a session.
--
-- Requests are formatted once in init(); request() only picks the next one.
-- done() prints one machine-readable line, "BENCH key=value ...", with
-- latencies in microseconds.

local counter = 0
local threads = {}

function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0

function init(args)
    local path = args[1] or "/"
    local file = args[2]
    local cookies = {}

    if file and file ~= "" then
        for line in io.lines(file) do
            if line ~= "" then
                table.insert(cookies, line)
            end
        end
    end

    local nthreads = tonumber(args[3] or "1")

    if #cookies == 0 then
        table.insert(reqs, wrk.format("GET", path))
    else
        for k, c in ipairs(cookies) do
            if (k - 1) % nthreads == tid then
                table.insert(reqs,
                             wrk.format("GET", path, { ["Cookie"] = c }))
            end
        end
        if #reqs == 0 then
            -- more threads than cookies: share them
            table.insert(reqs, wrk.format("GET", path,
                                 { ["Cookie"] = cookies[tid % #cookies + 1] }))
        end
    end

    n = #reqs
end

function request()
    i = i % n + 1
    return reqs[i]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d p50=%d p90=%d p99=%d p999=%d "
        .. "mean=%.1f max=%d status_errors=%d connect_errors=%d "
        .. "read_errors=%d write_errors=%d timeouts=%d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9),
        latency.mean, latency.max,
        e.status, e.connect, e.read, e.write, e.timeout))
end
