import EventModel

/// Batch destinations (object storage and warehouses): the processor's transformation is the
/// event itself, after any user transformation, as a `BatchRow` on `keel.batch`. Loading,
/// schemas and file layout are the batch-router's; so is validating these types' settings.
struct BatchRowMapping: EventMapper {
    func map(_ event: JSON) -> MappingOutcome { .batchRow(event) }

    static func definition(type: String, displayName: String, secretConfigKeys: [String]) -> DestinationDefinition {
        DestinationDefinition(
            type: type, displayName: displayName, integrationAliases: [type.uppercased()], kind: .batch,
            supportedMessageTypes: Set(MessageType.allCases), secretConfigKeys: secretConfigKeys,
            makeMapper: { _ in BatchRowMapping() }
        )
    }
}
