import EventModel

/// Event times as the mappings need them.
enum EventTime {
    /// Epoch milliseconds of an RFC 3339 time, or `nil` when it does not parse.
    static func milliseconds(_ text: String) -> Int64? { Timestamp.parseMilliseconds(text) }
}
