-- wrk: POST /v1/track with one ~700-byte event.
wrk.method = "POST"
wrk.path = "/v1/track"
wrk.body = '{"anonymousId":"anon-000001","userId":"user-000001","event":"Product Viewed",' ..
  '"properties":{"product_id":"sku-00001","price":19.99,"currency":"EUR","note":"' .. string.rep("x", 330) .. '"},' ..
  '"context":{"library":{"name":"wrk","version":"1.0"},"page":{"path":"/products/1",' ..
  '"url":"https://shop.example.com/products/1"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)"},' ..
  '"originalTimestamp":"2026-11-29T12:00:00.000Z"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic YmVuY2gtd3JpdGUta2V5Og=="
