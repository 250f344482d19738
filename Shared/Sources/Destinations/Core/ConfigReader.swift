import EventModel

/// Reads a destination's `config` object with errors that name the key, never the value.
struct ConfigReader {
    let config: JSON

    init(_ config: JSON) { self.config = config }

    /// A required non-empty string.
    func required(_ key: String) throws(DestinationConfigError) -> String {
        guard let value = config[key] else { throw DestinationConfigError(key: key, reason: "is required") }
        guard let text = value.stringValue else { throw DestinationConfigError(key: key, reason: "must be a string") }
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw DestinationConfigError(key: key, reason: "must not be empty") }
        return trimmed
    }

    /// An optional string; `nil` when absent, null or empty.
    func optional(_ key: String) throws(DestinationConfigError) -> String? {
        guard let value = config[key], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw DestinationConfigError(key: key, reason: "must be a string") }
        let trimmed = text.trimmingSpaces
        return trimmed.isEmpty ? nil : trimmed
    }

    /// An optional boolean with a default.
    func flag(_ key: String, default defaultValue: Bool) throws(DestinationConfigError) -> Bool {
        guard let value = config[key], !value.isNull else { return defaultValue }
        if let flag = value.boolValue { return flag }
        if let text = value.stringValue?.lowercased(), text == "true" || text == "false" { return text == "true" }
        throw DestinationConfigError(key: key, reason: "must be true or false")
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
