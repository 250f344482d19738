extension JSON {
    /// The deepest nesting of arrays and objects the parser accepts (stack safety).
    public static let maximumDepth = 512

    /// Parses a complete JSON text (RFC 8259) from UTF-8 bytes.
    ///
    /// Strict: no trailing commas, comments, leading zeros, `NaN`/`Infinity`, raw control
    /// characters in strings, invalid escapes, invalid UTF-8 or trailing content. Escaped lone
    /// surrogates (`"\uD800"`, which the grammar allows) become U+FFFD. A repeated object key keeps
    /// its first position and its last value, as in JavaScript. Numbers outside `Double`'s range
    /// are rejected.
    public init(parsing bytes: [UInt8]) throws(JSONError) {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONError) in try JSONParser.parse(buffer) }
        }
        self = try result.get()
    }

    /// Parses a complete JSON text from UTF-8 bytes in memory.
    public init(parsing buffer: UnsafeRawBufferPointer) throws(JSONError) {
        self = try JSONParser.parse(buffer.assumingMemoryBound(to: UInt8.self))
    }

    /// Parses a complete JSON text.
    public init(parsing text: String) throws(JSONError) {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONError) in try JSONParser.parse(buffer) }
        }
        self = try result.get()
    }
}
