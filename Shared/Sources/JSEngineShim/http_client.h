// A small blocking HTTP/1.1 client for the transformations' fetch: allow-listed hosts, one
// request per connection, bounded time and response size. https:// requests are checked here and
// performed by the host (keel_js.h, kjs_fetch_fn).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace keel_js {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct HttpResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;
};

/// Checks the URL (http:// or https://), the allow list, the method and the headers. Returns an
/// empty string when the request may go out, else a message safe to show; sets *https.
std::string check_request(const HttpRequest &request, const std::string &allowed_hosts, bool *https);

/// Performs an http:// request; returns an empty string on success, else a message safe to show.
std::string http_request(const HttpRequest &request, const std::string &allowed_hosts, int timeout_ms,
                         size_t max_response_bytes, HttpResponse *response);

}  // namespace keel_js
