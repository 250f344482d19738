/// A router environment variable with a value it cannot use. Names the variable, not the value.
public struct RouterSettingsError: Error, Sendable, CustomStringConvertible {
    public var variable: String
    public var expected: String
    public var description: String { "\(variable): expected \(expected)" }
}

extension RouterSettings {
    /// Reads the `KEEL_ROUTER_*` variables and `KEEL_ADMIN_TOKEN` (see docs/router.md).
    public init(environment: [String: String]) throws {
        self.init()
        func positive(_ name: String, _ target: inout Int) throws {
            guard let text = environment[name], !text.isEmpty else { return }
            guard let value = Int(text), value > 0 else { throw RouterSettingsError(variable: name, expected: "a positive integer") }
            target = value
        }
        try positive("KEEL_ROUTER_MAX_JOBS_IN_MEMORY", &maxJobsInMemory)
        try positive("KEEL_ROUTER_MAX_QUEUED_PER_USER", &maxQueuedPerUser)
        try positive("KEEL_ROUTER_MAX_QUEUED_PER_DESTINATION", &maxQueuedPerDestination)
        try positive("KEEL_ROUTER_CONNECTIONS_PER_HOST", &connectionsPerHost)
        if let text = environment["KEEL_ROUTER_CONNECTIONS_PER_HOST_BY_TYPE"], !text.isEmpty {
            let name = "KEEL_ROUTER_CONNECTIONS_PER_HOST_BY_TYPE"
            for entry in text.split(separator: ",") {
                let parts = entry.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let value = Int(parts[1].trimmingSpaces), value > 0, !parts[0].trimmingSpaces.isEmpty else {
                    throw RouterSettingsError(variable: name, expected: "type=connections[,type=connections…] with positive integers")
                }
                connectionsPerHostByType[parts[0].trimmingSpaces.lowercased()] = value
            }
        }
        var port = apiPort
        try positive("KEEL_ROUTER_API_PORT", &port)
        apiPort = port
        if let host = environment["KEEL_ROUTER_API_HOST"], !host.isEmpty { apiHost = host }
        if let token = environment["KEEL_ADMIN_TOKEN"], !token.isEmpty { adminToken = token }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
