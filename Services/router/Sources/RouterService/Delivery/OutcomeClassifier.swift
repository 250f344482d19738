#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Turns an HTTP answer into an ``AttemptResult``: 2xx delivered; 408, 429 and 5xx retryable
/// (with the server's `Retry-After`); other statuses abort at once.
public enum OutcomeClassifier {
    /// Longest response excerpt kept with a failure.
    public static let excerptLimit = 1024

    public static func classify(status: Int, retryAfter: String?, body: [UInt8], completedRequests: Int, now: () -> Int64 = unixSeconds) -> AttemptResult {
        if (200..<300).contains(status) { return .delivered(statusCode: status) }
        let retryable = status == 408 || status == 429 || (500..<600).contains(status)
        return .failed(
            DeliveryFailure(
                kind: .status,
                statusCode: status,
                reason: "HTTP \(status)",
                responseExcerpt: excerpt(body),
                retryable: retryable,
                retryAfter: retryable ? retryAfter.flatMap { parseRetryAfter($0, now: now()) } : nil,
                completedRequests: completedRequests
            )
        )
    }

    /// The first ``excerptLimit`` bytes of a response as text (invalid UTF-8 replaced).
    public static func excerpt(_ body: [UInt8]) -> String? {
        guard !body.isEmpty else { return nil }
        return String(decoding: body.prefix(excerptLimit), as: UTF8.self)
    }

    /// `Retry-After` as delta-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), relative to
    /// `now` (Unix seconds). Capped at one day; `nil` when unparseable.
    public static func parseRetryAfter(_ value: String, now: Int64) -> Duration? {
        let trimmed = value.trimmingSpaces
        if let seconds = Int64(trimmed) { return seconds >= 0 ? .seconds(min(seconds, 86_400)) : nil }
        guard let date = parseIMFFixdate(trimmed) else { return nil }
        return .seconds(min(max(date - now, 0), 86_400))
    }

    /// Unix seconds of an IMF-fixdate, written out by hand to stay off Foundation's formatters.
    static func parseIMFFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int64(parts[1]), let year = Int64(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])) else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let h = Int64(clock[0]), let m = Int64(clock[1]), let s = Int64(clock[2]) else { return nil }
        return daysFromCivil(year: year, month: Int64(monthIndex + 1), day: day) * 86_400 + h * 3600 + m * 60 + s
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Current Unix time in seconds.
@Sendable public func unixSeconds() -> Int64 { unixMillis() / 1000 }

/// Current Unix time in milliseconds.
@Sendable public func unixMillis() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
