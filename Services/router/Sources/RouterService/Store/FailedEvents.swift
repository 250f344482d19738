import EventModel
import Logging
import PostgresNIO
import Storage

/// Which failed events to list or replay. Empty fields match everything.
public struct FailedEventFilter: Sendable, Equatable {
    public var ids: [Int64]
    public var destinationId: String?
    public var statusCode: Int?
    /// Case-insensitive substring of the reason or the response excerpt.
    public var errorText: String?
    /// Unix milliseconds, inclusive.
    public var since: Int64?
    /// Unix milliseconds, exclusive.
    public var until: Int64?
    /// Also rows already replayed (listing only; a replay always skips them unless ids are given).
    public var includeReplayed: Bool

    public init(
        ids: [Int64] = [], destinationId: String? = nil, statusCode: Int? = nil, errorText: String? = nil, since: Int64? = nil,
        until: Int64? = nil, includeReplayed: Bool = false
    ) {
        self.ids = ids
        self.destinationId = destinationId
        self.statusCode = statusCode
        self.errorText = errorText
        self.since = since
        self.until = until
        self.includeReplayed = includeReplayed
    }

    /// Whether the filter selects anything narrower than "all".
    public var isEmpty: Bool {
        ids.isEmpty && destinationId == nil && statusCode == nil && errorText == nil && since == nil && until == nil
    }

    /// The SQL condition, with every value bound.
    func condition(forReplay: Bool) -> PostgresQuery {
        var query = PostgresQuery(unsafeSQL: "TRUE")
        var bindings = PostgresBindings()
        var sql = "TRUE"
        if !ids.isEmpty {
            bindings.append(ids)
            sql += " AND id = ANY($\(bindings.count)::int8[])"
        } else if !includeReplayed || forReplay {
            sql += " AND replayed_at IS NULL"
        }
        if let destinationId {
            bindings.append(destinationId)
            sql += " AND destination_id = $\(bindings.count)"
        }
        if let statusCode {
            bindings.append(Int32(statusCode))
            sql += " AND status_code = $\(bindings.count)"
        }
        if let errorText {
            bindings.append("%" + errorText.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%")
            sql += " AND (reason ILIKE $\(bindings.count) OR response_excerpt ILIKE $\(bindings.count))"
        }
        if let since {
            bindings.append(Double(since) / 1000)
            sql += " AND failed_at >= to_timestamp($\(bindings.count))"
        }
        if let until {
            bindings.append(Double(until) / 1000)
            sql += " AND failed_at < to_timestamp($\(bindings.count))"
        }
        query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        return query
    }
}

/// One row of failed events, as listed. The job's request headers are not part of it.
public struct FailedEvent: Sendable, Equatable {
    public var id: Int64
    public var destinationId: String
    public var destinationType: String
    public var userKey: String
    public var messageId: String
    public var eventType: String
    public var eventName: String?
    public var statusCode: Int?
    public var errorKind: String
    public var reason: String
    public var responseExcerpt: String?
    public var attempts: Int
    /// Unix milliseconds.
    public var firstAttemptAt: Int64?
    public var failedAt: Int64
    public var replayedAt: Int64?
    public var replayCount: Int

    /// The row as a JSON object (for the admin API and `keel failed list --json`).
    public var json: JSON {
        var object = JSONObject()
        object["id"] = .int(id)
        object["destinationId"] = .string(destinationId)
        object["destinationType"] = .string(destinationType)
        object["userKey"] = .string(userKey)
        object["messageId"] = .string(messageId)
        object["eventType"] = .string(eventType)
        object["eventName"] = eventName.map(JSON.string) ?? .null
        object["statusCode"] = statusCode.map { .int(Int64($0)) } ?? .null
        object["errorKind"] = .string(errorKind)
        object["reason"] = .string(reason)
        object["responseExcerpt"] = responseExcerpt.map(JSON.string) ?? .null
        object["attempts"] = .int(Int64(attempts))
        object["firstAttemptAt"] = firstAttemptAt.map { .string(Timestamp(millisecondsSinceEpoch: $0).rfc3339) } ?? .null
        object["failedAt"] = .string(Timestamp(millisecondsSinceEpoch: failedAt).rfc3339)
        object["replayedAt"] = replayedAt.map { .string(Timestamp(millisecondsSinceEpoch: $0).rfc3339) } ?? .null
        object["replayCount"] = .int(Int64(replayCount))
        return .object(object)
    }
}

/// Listing and replaying failed events; used by the admin API and by `keel failed`.
public struct FailedEventStore: Sendable {
    public let database: Database
    public let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Failed events matching `filter`, newest first.
    public func list(_ filter: FailedEventFilter, limit: Int = 100) async throws -> [FailedEvent] {
        var query = filter.condition(forReplay: false)
        query.binds.append(Int64(max(1, min(limit, 10_000))))
        query.sql = """
            SELECT id, destination_id, destination_type, user_key, message_id, event_type, event_name, status_code,
                error_kind, reason, response_excerpt, attempts,
                (extract(epoch FROM first_attempt_at) * 1000)::int8, (extract(epoch FROM failed_at) * 1000)::int8,
                (extract(epoch FROM replayed_at) * 1000)::int8, replay_count
            FROM router.failed WHERE \(query.sql) ORDER BY id DESC LIMIT $\(query.binds.count)
            """
        let rows = try await database.client.query(query, logger: logger)
        var result: [FailedEvent] = []
        for try await row in rows {
            let r = try row.decode(
                (Int64, String, String, String, String, String, String?, Int32?, String, String, String?, Int32, Int64?, Int64, Int64?, Int32).self
            )
            result.append(
                FailedEvent(
                    id: r.0, destinationId: r.1, destinationType: r.2, userKey: r.3, messageId: r.4, eventType: r.5, eventName: r.6,
                    statusCode: r.7.map(Int.init), errorKind: r.8, reason: r.9, responseExcerpt: r.10, attempts: Int(r.11),
                    firstAttemptAt: r.12, failedAt: r.13, replayedAt: r.14, replayCount: Int(r.15)
                )
            )
        }
        return result
    }

    /// Sends matching failed events back to delivery: each is appended, in failure order, to the
    /// parked table as a replay (same job bytes, so the same messageId), and marked replayed. The
    /// router picks them up within its replay poll interval. Returns the number replayed.
    public func replay(_ filter: FailedEventFilter) async throws -> Int {
        var condition = filter.condition(forReplay: true)
        condition.sql = """
            WITH picked AS (
                SELECT id FROM router.failed WHERE \(condition.sql) ORDER BY id FOR UPDATE
            ), moved AS (
                INSERT INTO router.parked (destination_id, user_key, topic, partition, origin, job)
                SELECT f.destination_id, f.user_key, f.topic, f.partition, 'replay', f.job
                FROM router.failed f JOIN picked USING (id) ORDER BY f.id
                RETURNING seq
            ), marked AS (
                UPDATE router.failed f SET replayed_at = now(), replay_count = replay_count + 1
                FROM picked WHERE f.id = picked.id
                RETURNING f.id
            )
            SELECT count(*)::int8 FROM marked
            """
        let count = try await database.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(condition, logger: logger)
            var count: Int64 = 0
            for try await value in rows.decode(Int64.self) { count = value }
            return count
        }
        return Int(count)
    }
}
