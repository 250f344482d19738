#include "http_client.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace keel_js {
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
    for (auto &ch : s) ch = (ch >= 'A' && ch <= 'Z') ? char(ch - 'A' + 'a') : ch;
    return s;
}

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

struct Url {
    bool https = false;
    std::string host, port = "80", target = "/";
};

std::string parse_url(const std::string &url, Url *out) {
    std::string l = lower(url.substr(0, 8));
    std::string rest;
    if (l.rfind("https://", 0) == 0) {
        out->https = true;
        out->port = "443";
        rest = url.substr(8);
    } else if (l.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else {
        return "fetch needs an absolute http:// or https:// URL";
    }
    size_t end = rest.find_first_of("/?#");
    std::string authority = rest.substr(0, end);
    std::string target = end == std::string::npos ? "/" : rest.substr(end);
    size_t hash = target.find('#');
    if (hash != std::string::npos) target.resize(hash);
    if (target.empty() || target[0] != '/') target = "/" + target;
    if (authority.find('@') != std::string::npos) return "credentials in fetch URLs are not supported";
    if (!authority.empty() && authority[0] == '[') {
        size_t close = authority.find(']');
        if (close == std::string::npos) return "malformed host in URL";
        out->host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return "malformed host in URL";
            out->port = authority.substr(close + 2);
        }
    } else {
        size_t colon = authority.rfind(':');
        out->host = authority.substr(0, colon);
        if (colon != std::string::npos) out->port = authority.substr(colon + 1);
    }
    if (out->host.empty()) return "fetch URL has no host";
    if (out->port.empty() || out->port.size() > 5 || out->port.find_first_not_of("0123456789") != std::string::npos)
        return "malformed port in URL";
    for (char ch : target)
        if (ch == '\r' || ch == '\n' || ch == ' ') return "malformed path in URL";
    out->host = lower(out->host);
    out->target = target;
    return {};
}

bool host_allowed(const Url &url, const std::string &allowed) {
    size_t start = 0;
    while (start <= allowed.size()) {
        size_t comma = allowed.find(',', start);
        std::string entry = lower(trim(allowed.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (!entry.empty() && (entry == url.host || entry == url.host + ":" + url.port)) return true;
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return false;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : int(left);
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        int ms = remaining_ms(deadline);
        if (ms == 0) return false;
        pollfd p{fd, events, 0};
        int r = poll(&p, 1, ms);
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

struct Socket {
    int fd = -1;
    ~Socket() { if (fd >= 0) close(fd); }
};

std::string connect_to(const Url &url, Clock::time_point deadline, Socket *sock) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *list = nullptr;
    if (getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &list) != 0 || !list)
        return "could not resolve host " + url.host;
    std::string error = "could not connect to " + url.host + ":" + url.port;
    for (addrinfo *ai = list; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline))) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
                sock->fd = fd;
                freeaddrinfo(list);
                return {};
            }
        } else if (remaining_ms(deadline) == 0) {
            error = "fetch timed out connecting to " + url.host;
        }
        close(fd);
    }
    freeaddrinfo(list);
    return error;
}

bool valid_header_text(const std::string &s) {
    for (char ch : s)
        if (ch == '\r' || ch == '\n' || ch == '\0') return false;
    return true;
}

// Decodes a chunked body; returns false while incomplete; sets *bad on malformed input.
bool decode_chunked(const std::string &raw, std::string *out, bool *bad) {
    size_t pos = 0;
    out->clear();
    for (;;) {
        size_t eol = raw.find("\r\n", pos);
        if (eol == std::string::npos) return false;
        std::string size_text = raw.substr(pos, eol - pos);
        size_t semi = size_text.find(';');
        if (semi != std::string::npos) size_text.resize(semi);
        size_text = trim(size_text);
        if (size_text.empty() || size_text.size() > 8 || size_text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
            *bad = true;
            return false;
        }
        size_t size = std::stoul(size_text, nullptr, 16);
        pos = eol + 2;
        if (size == 0) return true;  // trailers ignored
        if (raw.size() < pos + size + 2) return false;
        out->append(raw, pos, size);
        pos += size + 2;
    }
}

std::string check_url(const HttpRequest &request, const std::string &allowed_hosts, Url *url) {
    if (auto e = parse_url(request.url, url); !e.empty()) return e;
    if (!host_allowed(*url, allowed_hosts))
        return "host " + url->host + " is not on this workspace's fetch allow list";
    if (request.method.empty() || request.method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)
        return "invalid HTTP method";
    for (auto &[name, value] : request.headers)
        if (!valid_header_text(name) || !valid_header_text(value) || name.empty() || name.find(':') != std::string::npos)
            return "invalid header in fetch options";
    return {};
}

}  // namespace

std::string check_request(const HttpRequest &request, const std::string &allowed_hosts, bool *https) {
    Url url;
    std::string e = check_url(request, allowed_hosts, &url);
    *https = url.https;
    return e;
}

std::string http_request(const HttpRequest &request, const std::string &allowed_hosts, int timeout_ms,
                         size_t max_response_bytes, HttpResponse *response) {
    Url url;
    if (auto e = check_url(request, allowed_hosts, &url); !e.empty()) return e;
    if (url.https) return "https requests are made by the host";
    if (timeout_ms <= 0) return "fetch timed out (no time left in the call)";
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);

    std::string head = request.method + " " + url.target + " HTTP/1.1\r\nHost: " + url.host +
                       (url.port == "80" ? "" : ":" + url.port) + "\r\nConnection: close\r\n";
    bool has_type = false;
    for (auto &[name, value] : request.headers) {
        if (!valid_header_text(name) || !valid_header_text(value) || name.empty() || name.find(':') != std::string::npos)
            return "invalid header in fetch options";
        std::string n = lower(name);
        if (n == "host" || n == "connection" || n == "content-length" || n == "transfer-encoding") continue;
        if (n == "content-type") has_type = true;
        head += name + ": " + value + "\r\n";
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
        if (!has_type && !request.body.empty()) head += "Content-Type: application/json\r\n";
        head += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    }
    head += "\r\n";
    std::string wire = head + request.body;

    Socket sock;
    if (auto e = connect_to(url, deadline, &sock); !e.empty()) return e;
    size_t sent = 0;
    while (sent < wire.size()) {
        ssize_t n = send(sock.fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
        if (n > 0) { sent += size_t(n); continue; }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(sock.fd, POLLOUT, deadline)) return "fetch timed out sending the request";
            continue;
        }
        return "connection failed while sending the request";
    }

    std::string raw;
    size_t header_end = std::string::npos;
    long long content_length = -1;
    bool chunked = false, bad = false;
    char buf[16384];
    for (;;) {
        if (header_end != std::string::npos) {
            size_t body_start = header_end + 4;
            if (content_length >= 0 && raw.size() - body_start >= size_t(content_length)) break;
            if (chunked && decode_chunked(raw.substr(body_start), &response->body, &bad)) break;
            if (bad) return "malformed chunked response";
        }
        ssize_t n = recv(sock.fd, buf, sizeof buf, 0);
        if (n > 0) {
            raw.append(buf, size_t(n));
            if (raw.size() > max_response_bytes) return "fetch response exceeds the size limit";
            if (header_end == std::string::npos && (header_end = raw.find("\r\n\r\n")) != std::string::npos) {
                std::string headers = raw.substr(0, header_end);
                size_t line_end = headers.find("\r\n");
                std::string status_line = headers.substr(0, line_end);
                if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return "malformed HTTP response";
                response->status = std::atoi(status_line.c_str() + 9);
                size_t pos = line_end == std::string::npos ? headers.size() : line_end + 2;
                while (pos < headers.size()) {
                    size_t eol = headers.find("\r\n", pos);
                    if (eol == std::string::npos) eol = headers.size();
                    std::string line = headers.substr(pos, eol - pos);
                    size_t colon = line.find(':');
                    if (colon != std::string::npos) {
                        std::string name = lower(trim(line.substr(0, colon)));
                        std::string value = trim(line.substr(colon + 1));
                        if (name == "content-length") content_length = std::atoll(value.c_str());
                        if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) chunked = true;
                        response->headers.emplace_back(name, value);
                    }
                    pos = eol + 2;
                }
                if (request.method == "HEAD" || response->status == 204 || response->status == 304) content_length = 0;
            }
            continue;
        }
        if (n == 0) break;
        if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(sock.fd, POLLIN, deadline)) return "fetch timed out waiting for the response";
            continue;
        }
        return "connection failed while reading the response";
    }
    if (header_end == std::string::npos) return "connection closed before a complete response";
    size_t body_start = header_end + 4;
    if (chunked) {
        if (!decode_chunked(raw.substr(body_start), &response->body, &bad)) return "truncated chunked response";
    } else if (content_length >= 0) {
        if (raw.size() - body_start < size_t(content_length)) return "connection closed before the whole body arrived";
        response->body = raw.substr(body_start, size_t(content_length));
    } else {
        response->body = raw.substr(body_start);
    }
    return {};
}

}  // namespace keel_js
