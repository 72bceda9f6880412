-- SPDX-License-Identifier: Apache-2.0
-- wrk script for bench/bench_api.sh: POST /v1/readings, one increment per
-- request, each with a unique Idempotency-Key (thread id + counter), so the
-- service stores every request instead of answering duplicates.
local counter = 0
local tid = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
end

function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("AB_KEY"),
    ["Idempotency-Key"] = string.format("wrk-%s-%d-%d", os.getenv("AB_RUN") or "0", tid, counter),
  }
  return wrk.format("POST", "/v1/readings", headers,
                    '{"asset_ref":"BENCH-1","meter":"cycles","increment":1}')
end
