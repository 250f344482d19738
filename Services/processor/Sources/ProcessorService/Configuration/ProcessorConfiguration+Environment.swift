import EventModel

extension ProcessorConfiguration {
    /// A malformed `KEEL_PROCESSOR_*` variable; names the variable, not the value.
    public struct EnvironmentError: Error, Sendable, CustomStringConvertible {
        public var variable: String
        public var expected: String
        public var description: String { "\(variable): expected \(expected)" }
    }

    /// Reads `KEEL_PROCESSOR_BATCH_SIZE`, `KEEL_PROCESSOR_PIPELINE_DEPTH`,
    /// `KEEL_PROCESSOR_MAPPING_CONCURRENCY`, `KEEL_PROCESSOR_DEDUP`, `KEEL_PROCESSOR_DEDUP_WINDOW`,
    /// `KEEL_PROCESSOR_ERROR_RETENTION` over the defaults.
    public init(topicPrefix: String, kafkaBrokers: String, environment: [String: String]) throws(EnvironmentError) {
        self.init(topics: Topics(prefix: topicPrefix), kafkaBrokers: kafkaBrokers)
        if let text = environment["KEEL_PROCESSOR_BATCH_SIZE"] {
            guard let size = Int(text), size >= 1 else {
                throw EnvironmentError(variable: "KEEL_PROCESSOR_BATCH_SIZE", expected: "a positive integer")
            }
            maxBatchSize = size
        }
        for (variable, setting) in [
            ("KEEL_PROCESSOR_PIPELINE_DEPTH", \Self.pipelineDepth), ("KEEL_PROCESSOR_MAPPING_CONCURRENCY", \Self.mappingConcurrency),
        ] {
            guard let text = environment[variable] else { continue }
            guard let value = Int(text), (1...64).contains(value) else {
                throw EnvironmentError(variable: variable, expected: "an integer from 1 to 64")
            }
            self[keyPath: setting] = value
        }
        if let text = environment["KEEL_PROCESSOR_DEDUP"] {
            switch text.lowercased() {
            case "true", "1", "on": dedupEnabled = true
            case "false", "0", "off": dedupEnabled = false
            default: throw EnvironmentError(variable: "KEEL_PROCESSOR_DEDUP", expected: "true or false")
            }
        }
        if let text = environment["KEEL_PROCESSOR_DEDUP_WINDOW"] {
            guard let window = Self.duration(text) else {
                throw EnvironmentError(variable: "KEEL_PROCESSOR_DEDUP_WINDOW", expected: "a duration such as 24h, 90m or 3600s")
            }
            dedupWindow = window
        }
        if let text = environment["KEEL_PROCESSOR_ERROR_RETENTION"] {
            guard let retention = Self.duration(text) else {
                throw EnvironmentError(variable: "KEEL_PROCESSOR_ERROR_RETENTION", expected: "a duration such as 14d or 48h")
            }
            errorRetention = retention
        }
    }

    /// `90s`, `30m`, `24h`, `14d`, or plain seconds; `nil` otherwise or when not positive.
    static func duration(_ text: String) -> Duration? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = Substring(text)
        var multiplier: Int64 = 1
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard let value = Int64(digits), value > 0 else { return nil }
        return .seconds(value * multiplier)
    }
}
