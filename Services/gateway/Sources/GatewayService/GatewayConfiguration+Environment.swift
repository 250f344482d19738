/// A malformed gateway environment variable; the message names the variable and what it expects.
public struct GatewayConfigurationError: Error, CustomStringConvertible {
    public var variable: String
    public var expected: String
    public var description: String { "\(variable): expected \(expected)" }
}

extension GatewayConfiguration {
    /// Reads `KEEL_GATEWAY_*` variables (docs/gateway.md); unset or empty ones keep defaults.
    /// `KEEL_TOPIC_PREFIX` comes from the runtime configuration, passed as `topicPrefix`.
    public init(environment: [String: String], topicPrefix: String) throws(GatewayConfigurationError) {
        self.init()
        self.topicPrefix = topicPrefix
        func integer(_ name: String, in range: ClosedRange<Int>) throws(GatewayConfigurationError) -> Int? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            guard let value = Int(raw), range.contains(value) else {
                throw GatewayConfigurationError(variable: name, expected: "an integer in \(range)")
            }
            return value
        }
        if let host = environment["KEEL_GATEWAY_HOST"], !host.isEmpty { self.host = host }
        if let port = try integer("KEEL_GATEWAY_PORT", in: 0...65535) { self.port = port }
        if let value = try integer("KEEL_GATEWAY_MAX_EVENT_BYTES", in: 256...(64 << 20)) { maxEventBytes = value }
        if let value = try integer("KEEL_GATEWAY_MAX_REQUEST_BYTES", in: 256...(256 << 20)) { maxRequestBytes = value }
        if let value = try integer("KEEL_GATEWAY_MAX_IMPORT_BYTES", in: 256...(1 << 30)) { maxImportBytes = value }
        if let value = try integer("KEEL_GATEWAY_ACK_TIMEOUT_MS", in: 100...600_000) { ackTimeout = .milliseconds(value) }
        if let value = try integer("KEEL_GATEWAY_KAFKA_LINGER_MS", in: 0...1000) { kafkaLinger = .milliseconds(value) }
    }
}
