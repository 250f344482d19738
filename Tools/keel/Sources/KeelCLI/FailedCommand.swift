import ArgumentParser
import EventModel
import RouterService

/// `keel failed list|replay`: events the router gave up on (schema `router`, table `failed`).
struct FailedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failed",
        abstract: "List failed events and send them back to delivery.",
        subcommands: [List.self, Replay.self]
    )

    /// Filters shared by `list` and `replay`.
    struct Filters: ParsableArguments {
        @Option(help: "Only this destination id.")
        var destination: String?
        @Option(help: "Only this HTTP status code.")
        var status: Int?
        @Option(help: "Only rows whose reason or response excerpt contains this text (case-insensitive).")
        var error: String?
        @Option(help: "Only rows that failed at or after this RFC 3339 time.")
        var since: String?
        @Option(help: "Only rows that failed before this RFC 3339 time.")
        var until: String?
        @Option(parsing: .upToNextOption, help: "Only these failed-event ids.")
        var ids: [Int64] = []

        func filter(includeReplayed: Bool = false) throws -> FailedEventFilter {
            func time(_ text: String?, _ name: String) throws -> Int64? {
                guard let text else { return nil }
                guard let millis = Timestamp.parseMilliseconds(text) else {
                    throw ValidationError("--\(name) must be an RFC 3339 time such as 2024-05-01T12:00:00Z")
                }
                return millis
            }
            return FailedEventFilter(
                ids: ids, destinationId: destination, statusCode: status, errorText: error, since: try time(since, "since"),
                until: try time(until, "until"), includeReplayed: includeReplayed)
        }
    }

    /// `keel failed list`: newest first, one line per event, or JSON.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List failed events, newest first.")

        @OptionGroup var filters: Filters
        @Flag(help: "Also show events already replayed.")
        var replayed = false
        @Option(help: "At most this many rows.")
        var limit = 100
        @Flag(help: "Print JSON instead of a table.")
        var json = false
        @OptionGroup var database: DatabaseOptions

        mutating func run() async throws {
            let filter = try filters.filter(includeReplayed: replayed)
            let limit = self.limit
            let rows = try await database.withDatabase { database, logger in
                try await RouterStore(database: database, logger: logger).migrate()
                return try await FailedEventStore(database: database, logger: logger).list(filter, limit: limit)
            }
            if json {
                print(JSON.array(rows.map(\.json)).description)
                return
            }
            print("id\tfailed_at\tdestination\tstatus\tattempts\tmessage_id\tuser\treason\treplayed")
            for row in rows {
                let failedAt = Timestamp(millisecondsSinceEpoch: row.failedAt).rfc3339
                let status = row.statusCode.map(String.init) ?? "-"
                let replayed = row.replayedAt.map { Timestamp(millisecondsSinceEpoch: $0).rfc3339 } ?? "-"
                print("\(row.id)\t\(failedAt)\t\(row.destinationId)\t\(status)\t\(row.attempts)\t\(row.messageId)\t\(row.userKey)\t\(row.reason)\t\(replayed)")
            }
        }
    }

    /// `keel failed replay`: back to delivery, same messageId, in failure order per user.
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send failed events back to delivery (the running router picks them up within a second).",
            discussion: "Events already replayed are skipped unless selected by --ids. Without any filter, pass --all.")

        @OptionGroup var filters: Filters
        @Flag(help: "Replay every failed event not yet replayed.")
        var all = false
        @OptionGroup var database: DatabaseOptions

        mutating func run() async throws {
            let filter = try filters.filter()
            if filter.isEmpty && !all { throw ValidationError("give a filter or --ids, or --all to replay every failed event") }
            let count = try await database.withDatabase { database, logger in
                try await RouterStore(database: database, logger: logger).migrate()
                return try await FailedEventStore(database: database, logger: logger).replay(filter)
            }
            print("replayed \(count) event\(count == 1 ? "" : "s")")
        }
    }
}
