import EventModel

/// Accumulates issues while a document is read.
final class IssueSink {
    var issues: [ConfigIssue] = []

    func add(_ path: String, _ message: String) {
        issues.append(ConfigIssue(path: path.isEmpty ? "document" : path, message: message))
    }
}

/// Reads the fields of one object of the workspace document, reporting wrong types, missing
/// required fields and (on ``finish()``) fields it does not know.
final class ObjectReader {
    let object: JSONObject
    let path: String
    private let sink: IssueSink
    private var read: Set<String> = []

    /// `nil` (with an issue recorded) when `value` is not an object.
    init?(_ value: JSON, path: String, sink: IssueSink) {
        guard case .object(let object) = value else {
            sink.add(path, "must be a mapping (key: value)")
            return nil
        }
        self.object = object
        self.path = path
        self.sink = sink
    }

    func childPath(_ key: String) -> String { ConfigPath.join(path, key) }

    /// The raw value, marking the key as known.
    func value(_ key: String) -> JSON? {
        read.insert(key)
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = value(key) else {
            if required { sink.add(childPath(key), "is required") }
            return nil
        }
        guard case .string(let text) = value else {
            sink.add(childPath(key), "must be a string")
            return nil
        }
        if text.trimmingWhitespace.isEmpty {
            sink.add(childPath(key), "must not be empty")
            return nil
        }
        return text
    }

    /// A string that is also an id: letters, digits, `_`, `-`, `.`; at most 128 characters.
    func identifier(_ key: String, required: Bool = true) -> String? {
        guard let text = string(key, required: required) else { return nil }
        guard Identifier.isValid(text) else {
            sink.add(childPath(key), "must contain only letters, digits, '_', '-' and '.' (at most 128), and start with a letter or digit")
            return nil
        }
        return text
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            sink.add(childPath(key), "must be true or false")
            return nil
        }
        return flag
    }

    func positiveInt(_ key: String) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .int(let number) = value, number > 0, number <= Int64(Int32.max) else {
            sink.add(childPath(key), "must be a positive integer")
            return nil
        }
        return Int(number)
    }

    func array(_ key: String) -> [JSON]? {
        guard let value = value(key) else { return nil }
        guard case .array(let elements) = value else {
            sink.add(childPath(key), "must be a list")
            return nil
        }
        return elements
    }

    func stringList(_ key: String) -> [String]? {
        guard let elements = array(key) else { return nil }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            if case .string(let text) = element, !text.isEmpty {
                strings.append(text)
            } else {
                sink.add(ConfigPath.index(childPath(key), index), "must be a non-empty string")
            }
        }
        return strings
    }

    /// Reports every key that no accessor asked for.
    func finish() {
        for key in object.keys where !read.contains(key) {
            sink.add(childPath(key), "unknown field")
        }
    }
}

enum Identifier {
    static func isValid(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 128, isAlphanumeric(first) else {
            return false
        }
        return text.unicodeScalars.allSatisfy { isAlphanumeric($0) || $0 == "_" || $0 == "-" || $0 == "." }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

extension String {
    var trimmingWhitespace: Substring {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return slice
    }
}
