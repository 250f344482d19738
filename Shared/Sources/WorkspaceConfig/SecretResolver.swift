import EventModel

/// A `${NAME}` reference whose variable is not set. Names the variable and the field, never a value.
public struct SecretResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Field path of the string that holds the reference.
    public var path: String
    /// The environment variable that is missing (empty for a malformed reference).
    public var variable: String

    public init(path: String, variable: String) {
        self.path = path
        self.variable = variable
    }

    public var description: String {
        variable.isEmpty
            ? "\(path): malformed ${…} reference"
            : "\(path): environment variable \(variable) is not set"
    }
}

/// Replaces `${NAME}` in workspace strings with values from an environment dictionary.
///
/// Documents are stored with references unresolved; each service resolves the values it uses, at
/// the moment it uses them. `$${` is a literal `${`.
///
/// ```swift
/// let resolver = SecretResolver(environment: ProcessInfo.processInfo.environment)   // in main
/// let config = try resolver.resolve(destination.config, at: "destinations[hook].config")
/// ```
public struct SecretResolver: Sendable {
    private let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// `text` with every reference replaced.
    public func resolve(_ text: String, at path: String) throws(SecretResolutionError) -> String {
        guard text.contains("$") else { return text }
        let pieces: [EnvironmentReferences.Piece]
        do {
            pieces = try EnvironmentReferences.pieces(of: text)
        } catch {
            throw SecretResolutionError(path: path, variable: "")
        }
        var result = ""
        for piece in pieces {
            switch piece {
            case .literal(let literal):
                result += literal
            case .variable(let name):
                guard let value = environment[name] else { throw SecretResolutionError(path: path, variable: name) }
                result += value
            }
        }
        return result
    }

    /// `value` with every string inside resolved. Throws for the first missing variable.
    public func resolve(_ value: JSON, at path: String) throws(SecretResolutionError) -> JSON {
        switch value {
        case .string(let text):
            return .string(try resolve(text, at: path))
        case .array(let elements):
            var resolved: [JSON] = []
            resolved.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                resolved.append(try resolve(element, at: ConfigPath.index(path, index)))
            }
            return .array(resolved)
        case .object(let object):
            var resolved = JSONObject()
            for (key, child) in object {
                resolved[key] = try resolve(child, at: ConfigPath.join(path, key))
            }
            return .object(resolved)
        default:
            return value
        }
    }

    /// Every problem in `value` at once (for `keel validate --check-env`-style reports).
    public func missing(in value: JSON, at path: String) -> [SecretResolutionError] {
        var errors: [SecretResolutionError] = []
        collectMissing(value, path: path, into: &errors)
        return errors
    }

    private func collectMissing(_ value: JSON, path: String, into errors: inout [SecretResolutionError]) {
        switch value {
        case .string(let text):
            do throws(SecretResolutionError) {
                _ = try resolve(text, at: path)
            } catch {
                errors.append(error)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                collectMissing(element, path: ConfigPath.index(path, index), into: &errors)
            }
        case .object(let object):
            for (key, child) in object { collectMissing(child, path: ConfigPath.join(path, key), into: &errors) }
        default:
            break
        }
    }

    /// The variable names referenced in `text`, in order (malformed text yields none).
    public static func references(in text: String) -> [String] {
        guard let pieces = try? EnvironmentReferences.pieces(of: text) else { return [] }
        return pieces.compactMap { piece in
            if case .variable(let name) = piece { return name }
            return nil
        }
    }
}
