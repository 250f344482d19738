import EventModel

/// The `${NAME}` syntax of workspace strings. `$${` stands for a literal `${`.
enum EnvironmentReferences {
    enum Piece: Equatable {
        case literal(String)
        case variable(String)
    }

    struct SyntaxError: Error {}

    /// Splits `text` into literal runs and variable references.
    static func pieces(of text: String) throws(SyntaxError) -> [Piece] {
        var pieces: [Piece] = []
        var literal = ""
        var rest = text[...]
        while let dollar = rest.firstIndex(of: "$") {
            literal += rest[..<dollar]
            let afterDollar = rest[rest.index(after: dollar)...]
            if afterDollar.hasPrefix("${") {
                literal += "${"
                rest = afterDollar.dropFirst(2)
            } else if afterDollar.hasPrefix("{") {
                let body = afterDollar.dropFirst()
                guard let close = body.firstIndex(of: "}") else { throw SyntaxError() }
                let name = String(body[..<close])
                guard isValidName(name) else { throw SyntaxError() }
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
                pieces.append(.variable(name))
                rest = body[body.index(after: close)...]
            } else {
                literal += "$"
                rest = afterDollar
            }
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return pieces
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isLetter($0) || ("0"..."9").contains($0) }
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    /// Reports every string value with a malformed `${…}`.
    static func checkSyntax(in value: JSON, path: String, sink: IssueSink) {
        switch value {
        case .string(let text):
            if text.contains("${"), (try? pieces(of: text)) == nil {
                sink.add(path, "malformed ${…} reference (expected ${NAME} with letters, digits and '_'; write $${ for a literal ${)")
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                checkSyntax(in: element, path: ConfigPath.index(path.isEmpty ? "document" : path, index), sink: sink)
            }
        case .object(let object):
            for (key, child) in object {
                checkSyntax(in: child, path: ConfigPath.join(path, key), sink: sink)
            }
        default:
            break
        }
    }
}
