/// Finds the module names of `import … from 'name'` / `import 'name'` in JavaScript source.
///
/// A textual scan, not a parser: good enough to check that imported libraries exist, and it errs on
/// the side of reporting (an import inside a comment counts).
enum JavaScriptImports {
    static func modules(in code: String) -> [String] {
        var names: [String] = []
        let scalars = Array(code.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if matchesWord("import", in: scalars, at: index) {
                var cursor = index + 6
                // Walk to the first quote of this statement (`from '…'` or a bare `import '…'`).
                while cursor < scalars.count, scalars[cursor] != ";", scalars[cursor] != "'", scalars[cursor] != "\"",
                    scalars[cursor] != "("
                {
                    cursor += 1
                }
                if cursor < scalars.count, scalars[cursor] == "'" || scalars[cursor] == "\"" {
                    let quote = scalars[cursor]
                    var end = cursor + 1
                    while end < scalars.count, scalars[end] != quote, scalars[end] != "\n" { end += 1 }
                    if end < scalars.count, scalars[end] == quote {
                        var name = String.UnicodeScalarView()
                        name.append(contentsOf: scalars[(cursor + 1)..<end])
                        names.append(String(name))
                    }
                    index = end
                }
            }
            index += 1
        }
        return names
    }

    private static func matchesWord(_ word: String, in scalars: [Unicode.Scalar], at index: Int) -> Bool {
        let letters = Array(word.unicodeScalars)
        guard index + letters.count < scalars.count else { return false }
        if index > 0, isIdentifier(scalars[index - 1]) { return false }
        for (offset, letter) in letters.enumerated() where scalars[index + offset] != letter { return false }
        let next = scalars[index + letters.count]
        return next == " " || next == "\t" || next == "\n" || next == "{" || next == "*" || next == "'" || next == "\""
    }

    private static func isIdentifier(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar == "$" || scalar == "." || scalar.properties.isAlphabetic
            || ("0"..."9").contains(scalar)
    }
}
