/// One problem in a workspace file, at a field path such as `destinations[1].config.url`.
///
/// Messages name fields, ids and expectations, never a field's value (it could be a secret).
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    /// Where: `sources[0].writeKey`, `connections[2].destinations[0]`, or `document` for the whole file.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`, one line.
    public var description: String { "\(path): \(message)" }
}

/// A workspace file that cannot be used, with every problem found (not only the first).
public struct WorkspaceConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    /// One `path: message` line per issue.
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Collects issues below a base path. Destination validators receive one rooted at the config object.
public struct ConfigIssues: Sendable {
    /// The path the relative paths given to ``add(_:_:)`` are appended to.
    public let basePath: String
    public private(set) var all: [ConfigIssue] = []

    public init(basePath: String) {
        self.basePath = basePath
    }

    /// Records a problem at `basePath` + `.relativePath` (or `[i]…` when `relativePath` starts with `[`).
    public mutating func add(_ relativePath: String, _ message: String) {
        all.append(ConfigIssue(path: ConfigPath.join(basePath, relativePath), message: message))
    }

    /// Records a problem at `basePath` itself.
    public mutating func add(_ message: String) {
        all.append(ConfigIssue(path: basePath.isEmpty ? "document" : basePath, message: message))
    }

    mutating func append(contentsOf issues: [ConfigIssue]) {
        all.append(contentsOf: issues)
    }

    public var isEmpty: Bool { all.isEmpty }
}

enum ConfigPath {
    static func join(_ base: String, _ child: String) -> String {
        if child.isEmpty { return base }
        if base.isEmpty { return child }
        return child.hasPrefix("[") ? base + child : base + "." + child
    }

    static func index(_ base: String, _ index: Int) -> String { "\(base)[\(index)]" }
}
