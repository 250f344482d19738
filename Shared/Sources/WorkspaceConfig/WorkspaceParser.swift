import EventModel

/// A validated workspace together with the document it came from.
public struct WorkspaceDocument: Sendable, Equatable {
    /// The typed model.
    public var workspace: Workspace
    /// The document as written (keys in file order, `${ENV}` unresolved): what is stored.
    public var document: JSON

    public init(workspace: Workspace, document: JSON) {
        self.workspace = workspace
        self.document = document
    }
}

/// Reads workspace files (YAML) and stored documents (JSON) into a ``Workspace``, collecting every
/// problem with its field path instead of stopping at the first.
///
/// ```swift
/// let parsed = try WorkspaceParser().parse(yaml: text)   // throws WorkspaceConfigError
/// ```
public struct WorkspaceParser: Sendable {
    /// Destination types accepted and their config checks. `nil` skips type checks entirely: services
    /// loading an already-applied document use that, so a type added by a newer `keel` does not stop them.
    public var destinationValidators: DestinationConfigValidators?

    public init(destinationValidators: DestinationConfigValidators? = .builtIn) {
        self.destinationValidators = destinationValidators
    }

    /// Parses and validates YAML text.
    public func parse(yaml: String) throws(WorkspaceConfigError) -> WorkspaceDocument {
        let (document, issues) = YAMLDocument.parse(yaml)
        guard let document else { throw WorkspaceConfigError(issues: issues) }
        return try parse(document: document, earlierIssues: issues)
    }

    /// Parses and validates a document tree (for instance one loaded from storage).
    public func parse(document: JSON) throws(WorkspaceConfigError) -> WorkspaceDocument {
        try parse(document: document, earlierIssues: [])
    }

    private func parse(document: JSON, earlierIssues: [ConfigIssue]) throws(WorkspaceConfigError) -> WorkspaceDocument {
        let sink = IssueSink()
        sink.issues = earlierIssues
        let workspace = WorkspaceReading(sink: sink, validators: destinationValidators).read(document)
        EnvironmentReferences.checkSyntax(in: document, path: "", sink: sink)
        guard sink.issues.isEmpty, let workspace else {
            throw WorkspaceConfigError(issues: sink.issues)
        }
        return WorkspaceDocument(workspace: workspace, document: document)
    }
}

/// One pass over a document.
private struct WorkspaceReading {
    let sink: IssueSink
    let validators: DestinationConfigValidators?

    func read(_ document: JSON) -> Workspace? {
        guard let root = ObjectReader(document, path: "", sink: sink) else { return nil }
        let id = root.identifier("workspace")
        let sources = list(root, "sources", readSource)
        let destinations = list(root, "destinations", readDestination)
        let connections = list(root, "connections", readConnection)
        let transformations = list(root, "transformations", readTransformation)
        let libraries = list(root, "libraries", readLibrary)
        let settings = root.value("settings").flatMap { readSettings($0, path: "settings") } ?? WorkspaceSettings()
        root.finish()

        // On the raw items, so that an item with other problems still counts.
        checkUnique(rawField(root, "sources", "id"), field: "id", what: "source id")
        checkUnique(rawField(root, "sources", "writeKey"), field: "writeKey", what: "write key", echo: false)
        checkUnique(rawField(root, "destinations", "id"), field: "id", what: "destination id")
        checkUnique(rawField(root, "transformations", "id"), field: "id", what: "transformation id")
        checkUnique(rawField(root, "libraries", "name"), field: "name", what: "library name")

        let sourceIDs = Set(sources.compactMap { $0.1?.id })
        let destinationIDs = Set(destinations.compactMap { $0.1?.id })
        let transformationIDs = Set(transformations.compactMap { $0.1?.id })
        let libraryNames = Set(libraries.compactMap { $0.1?.name })
        var connected = Set<[String]>()
        for (path, connection) in connections {
            guard let connection else { continue }
            if !sourceIDs.contains(connection.source) {
                sink.add(ConfigPath.join(path, "source"), "unknown source \"\(connection.source)\"")
            }
            for (index, destination) in connection.destinations.enumerated() {
                let destinationPath = ConfigPath.index(ConfigPath.join(path, "destinations"), index)
                if !destinationIDs.contains(destination) {
                    sink.add(destinationPath, "unknown destination \"\(destination)\"")
                } else if !connected.insert([connection.source, destination]).inserted {
                    sink.add(destinationPath, "source \"\(connection.source)\" is already connected to \"\(destination)\"")
                }
            }
        }
        for (path, destination) in destinations {
            if let reference = destination?.transformation, !transformationIDs.contains(reference) {
                sink.add(ConfigPath.join(path, "transformation"), "unknown transformation \"\(reference)\"")
            }
        }
        for (path, transformation) in transformations {
            guard let transformation else { continue }
            for name in transformation.importedLibraries where !libraryNames.contains(name) {
                sink.add(ConfigPath.join(path, "code"), "imports unknown library \"\(name)\"")
            }
        }

        guard let id else { return nil }
        return Workspace(
            id: id,
            sources: sources.compactMap(\.1),
            destinations: destinations.compactMap(\.1),
            connections: connections.compactMap(\.1),
            transformations: transformations.compactMap(\.1),
            libraries: libraries.compactMap(\.1),
            settings: settings
        )
    }

    /// Reads `root[key]` as a list of items, returning each with its path (`nil` item when invalid).
    private func list<Item>(_ root: ObjectReader, _ key: String, _ readItem: (JSON, String) -> Item?) -> [(String, Item?)] {
        guard let elements = root.array(key) else { return [] }
        return elements.enumerated().map { index, element in
            let path = ConfigPath.index(key, index)
            return (path, readItem(element, path))
        }
    }

    /// `(path of item, item[field])` for every item of the list `root[list]` whose field is a string.
    private func rawField(_ root: ObjectReader, _ list: String, _ field: String) -> [(String, String?)] {
        guard case .array(let elements)? = root.object[list] else { return [] }
        return elements.enumerated().map { index, element in
            guard case .string(let value)? = element[field] else { return (ConfigPath.index(list, index), nil) }
            return (ConfigPath.index(list, index), value)
        }
    }

    private func checkUnique(_ items: [(String, String?)], field: String, what: String, echo: Bool = true) {
        var firstPath: [String: String] = [:]
        for (path, value) in items {
            guard let value else { continue }
            if let earlier = firstPath[value] {
                let subject = echo ? "duplicate \(what) \"\(value)\"" : "duplicate \(what)"
                sink.add(ConfigPath.join(path, field), "\(subject) (also at \(earlier))")
            } else {
                firstPath[value] = path
            }
        }
    }

    private func readSource(_ value: JSON, path: String) -> Source? {
        guard let reader = ObjectReader(value, path: path, sink: sink) else { return nil }
        let id = reader.identifier("id")
        let name = reader.string("name")
        let writeKey = reader.string("writeKey", required: true)
        let enabled = reader.bool("enabled") ?? true
        var kind = Source.Kind.sdk
        if let text = reader.string("type") {
            if let parsed = Source.Kind(rawValue: text) {
                kind = parsed
            } else {
                sink.add(reader.childPath("type"), "must be one of: \(Source.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let rateLimit = reader.positiveInt("rateLimit")
        reader.finish()
        guard let id, let writeKey else { return nil }
        return Source(id: id, name: name, writeKey: writeKey, enabled: enabled, type: kind, rateLimit: rateLimit)
    }

    private func readDestination(_ value: JSON, path: String) -> Destination? {
        guard let reader = ObjectReader(value, path: path, sink: sink) else { return nil }
        let id = reader.identifier("id")
        let name = reader.string("name", required: true)
        let type = reader.string("type", required: true)
        let enabled = reader.bool("enabled") ?? true
        var config = JSON.object(JSONObject())
        var configIsValid = true
        if let raw = reader.value("config") {
            if case .object = raw {
                config = raw
            } else {
                configIsValid = false
                sink.add(reader.childPath("config"), "must be a mapping (key: value)")
            }
        }
        let transformation = reader.string("transformation")
        let eventFilter = reader.value("eventFilter").flatMap { readEventFilter($0, path: reader.childPath("eventFilter")) }
        let consent = reader.stringList("consentCategories") ?? []
        reader.finish()

        if let type, let validators {
            if let validate = validators.validator(for: type) {
                if configIsValid, case .object(let object) = config {
                    var issues = ConfigIssues(basePath: reader.childPath("config"))
                    validate(object, &issues)
                    sink.issues.append(contentsOf: issues.all)
                }
            } else {
                sink.add(reader.childPath("type"), "unknown destination type \"\(type)\" (known: \(validators.knownTypes.joined(separator: ", ")))")
            }
        }
        guard let id, let name, let type else { return nil }
        return Destination(
            id: id, name: name, type: type, enabled: enabled, config: config, transformation: transformation,
            eventFilter: eventFilter, consentCategories: consent)
    }

    private func readEventFilter(_ value: JSON, path: String) -> EventFilter? {
        guard let reader = ObjectReader(value, path: path, sink: sink) else { return nil }
        let allow = reader.stringList("allow")
        let deny = reader.stringList("deny")
        reader.finish()
        switch (allow, deny) {
        case (let allow?, nil): return .allow(allow)
        case (nil, let deny?): return .deny(deny)
        case (.some, .some):
            sink.add(path, "give either allow or deny, not both")
        case (nil, nil):
            sink.add(path, "needs an allow or a deny list")
        }
        return nil
    }

    private func readConnection(_ value: JSON, path: String) -> Connection? {
        guard let reader = ObjectReader(value, path: path, sink: sink) else { return nil }
        let source = reader.string("source", required: true)
        let destinations = reader.stringList("destinations")
        if destinations == nil, reader.object["destinations"] == nil {
            sink.add(reader.childPath("destinations"), "is required")
        }
        reader.finish()
        guard let source, let destinations else { return nil }
        return Connection(source: source, destinations: destinations)
    }

    private func readTransformation(_ value: JSON, path: String) -> Transformation? {
        guard let reader = ObjectReader(value, path: path, sink: sink) else { return nil }
        let id = reader.identifier("id")
        let name = reader.string("name")
        let code = reader.string("code", required: true)
        var language = Transformation.Language.javascript
        if let text = reader.string("language") {
            if let parsed = Transformation.Language(rawValue: text) {
                language = parsed
            } else {
                sink.add(reader.childPath("language"), "must be javascript")
            }
        }
        reader.finish()
        if let code, !code.contains("transformEvent"), !code.contains("transformBatch") {
            sink.add(ConfigPath.join(path, "code"), "must export a transformEvent or transformBatch function")
        }
        guard let id, let code else { return nil }
        return Transformation(id: id, name: name, code: code, language: language)
    }

    private func readLibrary(_ value: JSON, path: String) -> Library? {
        guard let reader = ObjectReader(value, path: path, sink: sink) else { return nil }
        let name = reader.string("name", required: true)
        let code = reader.string("code", required: true)
        reader.finish()
        guard let name, let code else { return nil }
        return Library(name: name, code: code)
    }

    private func readSettings(_ value: JSON, path: String) -> WorkspaceSettings? {
        guard case .object(let raw) = value else {
            sink.add(path, "must be a mapping (key: value)")
            return nil
        }
        var settings = WorkspaceSettings(raw: raw)
        if let gatewayValue = raw["gateway"], let gateway = ObjectReader(gatewayValue, path: ConfigPath.join(path, "gateway"), sink: sink) {
            settings.gateway.maxEventBytes = gateway.positiveInt("maxEventBytes") ?? GatewaySettings.defaultMaxEventBytes
            settings.gateway.maxRequestBytes = gateway.positiveInt("maxRequestBytes") ?? GatewaySettings.defaultMaxRequestBytes
            settings.gateway.rateLimit = gateway.positiveInt("rateLimit")
            gateway.finish()
            if settings.gateway.maxEventBytes > settings.gateway.maxRequestBytes {
                sink.add(gateway.childPath("maxEventBytes"), "must not exceed maxRequestBytes")
            }
        }
        if let value = raw["transformations"],
            let transformations = ObjectReader(value, path: ConfigPath.join(path, "transformations"), sink: sink)
        {
            let hosts = transformations.stringList("fetchAllowedHosts") ?? []
            for (index, host) in hosts.enumerated() where !Self.isHostPattern(host) {
                sink.add(
                    ConfigPath.index(transformations.childPath("fetchAllowedHosts"), index),
                    "must be a host name or host:port (no scheme or path), got \"\(host)\"")
            }
            settings.transformations.fetchAllowedHosts = hosts
            transformations.finish()
        }
        return settings
    }

    /// `name` or `name:port`: letters, digits, `.`, `-`, or an IPv4 address; a port of 1–65535.
    static func isHostPattern(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let name = parts.first, !name.isEmpty else { return false }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "-"
        }
        guard allowed else { return false }
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port) else { return false }
        }
        return true
    }
}
