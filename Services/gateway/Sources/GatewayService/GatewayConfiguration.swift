/// What the gateway's HTTP side needs to know. Defaults are documented in docs/gateway.md;
/// reading them from the environment lives in `GatewayConfiguration+Environment.swift`.
public struct GatewayConfiguration: Sendable, Equatable {
    /// Bind address of the public HTTP server. Default `0.0.0.0`.
    public var host: String = "0.0.0.0"
    /// Public HTTP port (`KEEL_GATEWAY_PORT`). Default 8080; `0` picks a free port.
    public var port: Int = 8080
    /// Largest single event, in bytes, after gzip inflation. Default 32 KiB (Segment's limit).
    public var maxEventBytes: Int = 32 * 1024
    /// Largest request body, in bytes, compressed and inflated. Default 500 KiB (Segment's limit).
    public var maxRequestBytes: Int = 500 * 1024
    /// Largest `/v1/import` body, in bytes. Default 4 MiB.
    public var maxImportBytes: Int = 4 * 1024 * 1024
    /// Kafka topic prefix (`KEEL_TOPIC_PREFIX`). Default `keel.`.
    public var topicPrefix: String = "keel."
    /// How long a request may wait for Kafka's acknowledgements before it fails with 503
    /// (`KEEL_GATEWAY_ACK_TIMEOUT_MS`). The producer's `message.timeout.ms` and
    /// `request.timeout.ms` are set from it in `main`, so a 503 normally means librdkafka gave the
    /// messages up. librdkafka can take longer to decide when brokers vanish with requests in
    /// flight; the gateway stops waiting at twice this timeout and answers 503 then too, although
    /// the events may still be written (a retry may duplicate them; SDK-set messageIds are
    /// deduplicated by the processor). Default 10 s.
    public var ackTimeout: Duration = .seconds(10)
    /// The producer's `linger.ms` (`KEEL_GATEWAY_KAFKA_LINGER_MS`): how long librdkafka waits to
    /// fill a batch. Every request waits for its acknowledgement, so this adds directly to the
    /// latency of single-event requests. Default 2 ms.
    public var kafkaLinger: Duration = .milliseconds(2)

    public init() {}
}
