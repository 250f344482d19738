import EventModel
import Hummingbird
import Logging
import NIOCore

/// The failed-events HTTP API, protected by a bearer token (`KEEL_ADMIN_TOKEN`):
///
/// - `GET /v1/failed?destination=&status=&error=&since=&until=&replayed=true&limit=` lists rows,
///   newest first (`since`/`until` are RFC 3339 timestamps).
/// - `POST /v1/failed/replay` with the same query filters, or a JSON body `{"ids":[1,2]}`, sends the
///   selected rows back to delivery and answers `{"replayed":N}`. Without any filter it refuses
///   (400) unless `all=true` is given, so an empty form cannot replay everything by accident.
///
/// Responses never contain request headers; `401` for a missing or wrong token.
public struct FailedEventsAPI: Sendable {
    public let store: FailedEventStore
    let token: [UInt8]

    public init(store: FailedEventStore, token: String) {
        self.store = store
        self.token = Array(token.utf8)
    }

    public func addRoutes(to router: Hummingbird.Router<BasicRequestContext>) {
        let api = self
        router.get("/v1/failed") { request, _ -> Response in
            try api.authorize(request)
            let filter = try Self.filter(from: request)
            let limit = request.uri.queryParameters.get("limit", as: Int.self) ?? 100
            let rows = try await api.store.list(filter, limit: limit)
            return Self.json(.object(["failed": .array(rows.map(\.json)), "count": .int(Int64(rows.count))]))
        }
        router.post("/v1/failed/replay") { request, _ -> Response in
            try api.authorize(request)
            var filter = try Self.filter(from: request)
            let body = try await request.body.collect(upTo: 1 << 20)
            if body.readableBytes > 0 {
                guard let json = try? JSON(parsing: Array(body.readableBytesView)) else {
                    throw HTTPError(.badRequest, message: "body must be JSON: {\"ids\":[…]}")
                }
                filter.ids = json["ids"]?.arrayValue?.compactMap(\.intValue) ?? []
            }
            if filter.isEmpty && request.uri.queryParameters.get("all") != "true" {
                throw HTTPError(.badRequest, message: "give a filter or ids, or all=true to replay every failed event")
            }
            let count = try await api.store.replay(filter)
            return Self.json(.object(["replayed": .int(Int64(count))]))
        }
    }

    /// The application serving only these routes, for the router's API port.
    public func makeApplication(host: String, port: Int, logger: Logger, onListening: (@Sendable (Int) async -> Void)? = nil) -> some ApplicationProtocol {
        let router = Hummingbird.Router()
        addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onListening?(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    func authorize(_ request: Request) throws {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HTTPError(.unauthorized, message: "missing bearer token")
        }
        let given = Array(header.utf8.dropFirst("Bearer ".utf8.count))
        // Constant time in the token's length.
        var difference = UInt8(given.count == token.count ? 0 : 1)
        for i in 0..<token.count { difference |= token[i] ^ (i < given.count ? given[i] : 0) }
        guard difference == 0, !token.isEmpty else { throw HTTPError(.unauthorized, message: "wrong token") }
    }

    static func filter(from request: Request) throws -> FailedEventFilter {
        let query = request.uri.queryParameters
        var filter = FailedEventFilter()
        filter.destinationId = query.get("destination")
        filter.statusCode = query.get("status", as: Int.self)
        filter.errorText = query.get("error")
        filter.includeReplayed = query.get("replayed") == "true"
        if let ids = query.get("ids") { filter.ids = ids.split(separator: ",").compactMap { Int64($0) } }
        if let since = query.get("since") {
            guard let millis = Timestamp.parseMilliseconds(since) else { throw HTTPError(.badRequest, message: "since must be RFC 3339") }
            filter.since = millis
        }
        if let until = query.get("until") {
            guard let millis = Timestamp.parseMilliseconds(until) else { throw HTTPError(.badRequest, message: "until must be RFC 3339") }
            filter.until = millis
        }
        return filter
    }

    static func json(_ value: JSON) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized()))
        )
    }
}
