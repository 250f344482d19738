#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time with millisecond precision, as events carry it (`timestamp`, `sentAt`,
/// `receivedAt`, ...).
///
/// Parses RFC 3339 / ISO 8601 date-times (`2026-11-29T12:00:00Z`, any number of fraction digits,
/// `Z` or `±hh:mm` / `±hhmm` offsets) and formats as `2026-11-29T12:00:00.123Z`, without
/// Foundation's formatters. Fraction digits past milliseconds are truncated, as JavaScript does.
public struct Timestamp: Sendable, Hashable, Comparable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(millisecondsSinceEpoch: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// This time moved by `milliseconds` (negative moves back).
    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
    }

    /// Milliseconds from `other` to `self`.
    public func milliseconds(since other: Timestamp) -> Int64 {
        millisecondsSinceEpoch - other.millisecondsSinceEpoch
    }
}

extension Timestamp: CustomStringConvertible {
    /// The RFC 3339 form, e.g. `2026-11-29T12:00:00.123Z`.
    public var description: String { rfc3339 }
}
