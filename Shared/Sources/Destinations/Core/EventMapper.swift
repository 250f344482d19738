import EventModel

/// A destination transformation bound to one destination's configuration.
///
/// Built once per destination (and rebuilt when the workspace config changes), so configuration
/// is read and validated once rather than for every event. `map` is pure: the same event and
/// configuration always give the same outcome, which is what makes `keel destination preview`
/// show exactly what the processor sends.
public protocol EventMapper: Sendable {
    func map(_ event: JSON) -> MappingOutcome
}

/// One row of the destination registry: everything the processor and the CLI know about a type.
public struct DestinationDefinition: Sendable {
    public enum Kind: String, Sendable {
        /// Real-time: requests go to `keel.deliver.<type>` for the router.
        case stream
        /// Batch: rows go to `keel.batch` for the batch-router.
        case batch
    }

    /// The `type` in the workspace file, e.g. `webhook`, also the deliver topic suffix.
    public var type: String
    /// The key in an event's `integrations` object, e.g. `Customer.io`.
    public var displayName: String
    /// Other keys accepted in `integrations` for this type (e.g. `WEBHOOK`).
    public var integrationAliases: [String]
    public var kind: Kind
    public var supportedMessageTypes: Set<MessageType>
    /// Configuration keys whose values are secrets: masked in previews.
    public var secretConfigKeys: [String]
    /// Builds the mapper, validating the configuration.
    public var makeMapper: @Sendable (JSON) throws(DestinationConfigError) -> any EventMapper

    public init(
        type: String, displayName: String, integrationAliases: [String] = [], kind: Kind,
        supportedMessageTypes: Set<MessageType>, secretConfigKeys: [String] = [],
        makeMapper: @escaping @Sendable (JSON) throws(DestinationConfigError) -> any EventMapper
    ) {
        self.type = type
        self.displayName = displayName
        self.integrationAliases = integrationAliases
        self.kind = kind
        self.supportedMessageTypes = supportedMessageTypes
        self.secretConfigKeys = secretConfigKeys
        self.makeMapper = makeMapper
    }

    /// Validates a configuration: the problems found, empty when it is usable.
    public func validate(config: JSON) -> [DestinationConfigError] {
        do {
            _ = try makeMapper(config)
            return []
        } catch {
            return [error]
        }
    }

    /// Maps one event for a destination of this type: checks the message type, then runs the
    /// type's mapping. The same function serves the processor and `keel destination preview`.
    public func transform(_ event: JSON, with mapper: any EventMapper) -> MappingOutcome {
        guard let typeName = event["type"]?.stringValue, let messageType = MessageType(field: typeName) else {
            return .abort(reason: "event has no valid type")
        }
        guard supportedMessageTypes.contains(messageType) else {
            return .abort(reason: "message type \(messageType.rawValue) is not supported by \(displayName)")
        }
        return mapper.map(event)
    }
}
