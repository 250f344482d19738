extension JSON {
    /// The member `key` of an object; `nil` for a missing key or when this is not an object.
    /// Setting on a non-object does nothing; setting `nil` removes the key.
    public subscript(key: String) -> JSON? {
        get {
            guard case .object(let object) = self else { return nil }
            return object[key]
        }
        set {
            guard case .object(var object) = self else { return }
            self = .null  // drop our reference so `object` is unique and mutates in place
            object[key] = newValue
            self = .object(object)
        }
    }

    /// The element at `index` of an array; `nil` when out of range or not an array.
    public subscript(index: Int) -> JSON? {
        guard case .array(let array) = self, array.indices.contains(index) else { return nil }
        return array[index]
    }

    /// The value at a path of object keys: `json[path: "context", "traits", "email"]`.
    public subscript(path keys: String...) -> JSON? {
        var current = self
        for key in keys {
            guard let next = current[key] else { return nil }
            current = next
        }
        return current
    }

    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// An `int`, or a `double` with an integral value that fits `Int64`.
    public var intValue: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// A `double`, or an `int` converted to `Double`.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    public var arrayValue: [JSON]? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    public var objectValue: JSONObject? {
        guard case .object(let value) = self else { return nil }
        return value
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
