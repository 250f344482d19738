import EventModel

/// Salesforce (REST API, OAuth 2.0): identify → a ``DeliveryPlan`` built by ``SalesforcePlanner``
/// (token, lookup, then create or update the Lead, or the object named by `context.externalId`
/// `Salesforce-<Object>`), which the router runs as one delivery. Other message types abort.
struct SalesforceMapping: EventMapper {
    static let definition = DestinationDefinition(
        type: "salesforce", displayName: "Salesforce", integrationAliases: ["SALESFORCE", "salesforce"],
        kind: .stream, supportedMessageTypes: [.identify],
        secretConfigKeys: ["clientSecret", "password", "securityToken", "refreshToken"],
        makeMapper: { config throws(DestinationConfigError) in SalesforceMapping(planner: try SalesforcePlanner(config: config)) }
    )

    let planner: SalesforcePlanner

    func map(_ event: JSON) -> MappingOutcome {
        switch planner.plan(event) {
        case .plan(let plan): .plan(plan)
        case .abort(let reason): .abort(reason: reason)
        }
    }
}
