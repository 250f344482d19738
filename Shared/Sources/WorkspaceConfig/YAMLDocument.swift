import EventModel
import Yams

/// Turns YAML text into a ``JSON`` tree (the form workspace documents are stored and compared in).
///
/// Scalars follow YAML 1.1 core resolution as Yams implements it (`true`, `42`, `1.5`, `null`;
/// quoted scalars are always strings; timestamps stay strings). Errors carry a line and column but
/// never the offending text, which could hold a secret.
enum YAMLDocument {
    static func parse(_ text: String) -> (JSON?, [ConfigIssue]) {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return (nil, [ConfigIssue(path: "document", message: "invalid YAML: \(safeDescription(error))")])
        } catch {
            return (nil, [ConfigIssue(path: "document", message: "invalid YAML")])
        }
        guard let node else {
            return (nil, [ConfigIssue(path: "document", message: "the file is empty")])
        }
        var issues: [ConfigIssue] = []
        let value = convert(node, path: "", issues: &issues)
        return (value, issues)
    }

    private static func convert(_ node: Node, path: String, issues: inout [ConfigIssue]) -> JSON {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(JSON.bool) ?? .string(scalar.string)
            case .int: return node.int.map { JSON.int(Int64($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSON.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .array(sequence.enumerated().map { index, element in
                convert(element, path: ConfigPath.index(path.isEmpty ? "document" : path, index), issues: &issues)
            })
        case .mapping(let mapping):
            var object = JSONObject()
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    issues.append(ConfigIssue(path: path.isEmpty ? "document" : path, message: "keys must be plain strings"))
                    continue
                }
                let key = keyScalar.string
                let childPath = ConfigPath.join(path, key)
                if object.contains(key: key) {
                    issues.append(ConfigIssue(path: childPath, message: "duplicate key"))
                    continue
                }
                object[key] = convert(valueNode, path: childPath, issues: &issues)
            }
            return .object(object)
        case .alias:
            issues.append(ConfigIssue(path: path.isEmpty ? "document" : path, message: "YAML aliases are not supported"))
            return .null
        }
    }

    private static func safeDescription(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        case .reader(let problem, _, _, _):
            return problem
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return "duplicate key \(keys) in the mapping at line \(context.mark.line), column \(context.mark.column)"
        default:
            return "cannot read the document"
        }
    }
}
