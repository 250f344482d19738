import EventModel

/// Indented JSON for people (the EventModel serializer writes the compact form).
enum PrettyJSON {
    static func render(_ value: JSON) -> String {
        var out = ""
        write(value, indent: "", into: &out)
        return out
    }

    private static func write(_ value: JSON, indent: String, into out: inout String) {
        let inner = indent + "  "
        switch value {
        case .array(let elements) where !elements.isEmpty:
            out += "[\n"
            for (index, element) in elements.enumerated() {
                out += inner
                write(element, indent: inner, into: &out)
                out += index == elements.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let object) where !object.isEmpty:
            out += "{\n"
            for (index, (key, child)) in object.enumerated() {
                out += inner + JSON.string(key).jsonString + ": "
                write(child, indent: inner, into: &out)
                out += index == object.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        default:
            out += value.jsonString
        }
    }
}
