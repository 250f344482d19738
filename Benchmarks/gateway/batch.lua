-- wrk: POST /v1/batch with 100 events of ~700 bytes each (no messageId: the gateway fills them).
local padding = string.rep("x", 330)
local events = {}
for i = 1, 100 do
  events[i] = string.format(
    '{"type":"track","anonymousId":"anon-%06d","userId":"user-%06d","event":"Product Viewed",' ..
    '"properties":{"product_id":"sku-%05d","price":19.99,"currency":"EUR","note":"%s"},' ..
    '"context":{"library":{"name":"wrk","version":"1.0"},"page":{"path":"/products/%d",' ..
    '"url":"https://shop.example.com/products/%d"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)"},' ..
    '"originalTimestamp":"2026-11-29T12:00:00.000Z"}', i, i % 37, i, padding, i, i)
end
wrk.method = "POST"
wrk.path = "/v1/batch"
wrk.body = '{"batch":[' .. table.concat(events, ",") .. '],"sentAt":"2026-11-29T12:00:01.000Z"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic YmVuY2gtd3JpdGUta2V5Og=="  -- bench-write-key:
