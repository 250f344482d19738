import EventModel

/// The end-to-end workspace: one source per destination (write key `wk-<destination>`), so each
/// test's events reach exactly one tool, and every destination's base URL on the ``ToolServer``
/// (`<tools>/<destination id>`). Retries are kept short so a wrong answer fails fast.
enum E2EWorkspace {
    static let destinations = [
        "amplitude", "mixpanel", "hubspot", "braze", "slack", "customerio", "ga4", "webhook", "intercom", "salesforce",
    ]

    static func writeKey(_ destination: String) -> String { "wk-\(destination)" }

    static func yaml(tools: String) -> String {
        let delivery = "delivery: {minBackoffSeconds: 1, maxBackoffSeconds: 2, maxAttempts: 3, timeoutSeconds: 5}"
        let sources = destinations.map { "  - {id: src-\($0), name: \($0) app, writeKey: \(writeKey($0))}" }.joined(separator: "\n")
        let connections = destinations.map { "  - {source: src-\($0), destinations: [\($0)]}" }.joined(separator: "\n")
        return """
            workspace: acme
            sources:
            \(sources)
            destinations:
              - id: amplitude
                name: Amplitude
                type: amplitude
                config:
                  apiKey: \(Credentials.amplitudeKey)
                  endpoint: \(tools)/amplitude
                  \(delivery)
              - id: mixpanel
                name: Mixpanel
                type: mixpanel
                config:
                  token: \(Credentials.mixpanelToken)
                  serviceAccountUsername: \(Credentials.mixpanelUser)
                  serviceAccountSecret: \(Credentials.mixpanelSecret)
                  projectId: "\(Credentials.mixpanelProject)"
                  endpoint: \(tools)/mixpanel
                  \(delivery)
              - id: hubspot
                name: HubSpot
                type: hubspot
                config:
                  accessToken: \(Credentials.hubspotToken)
                  baseURL: \(tools)/hubspot
                  events: {"Signed Up": pe4242_signed_up}
                  \(delivery)
              - id: braze
                name: Braze
                type: braze
                config:
                  restApiKey: \(Credentials.brazeKey)
                  restEndpoint: \(tools)/braze
                  \(delivery)
              - id: slack
                name: Slack
                type: slack
                config:
                  webhookUrl: \(tools)/slack/services/T0E2E/B0MAIN/main-hook
                  trackTemplate: "{{name}} did {{event}}"
                  channelRules:
                    - {event: "Order Completed", webhookUrl: "\(tools)/slack/services/T0E2E/B0SALES/sales-hook", channel: "#sales"}
                  eventTemplates:
                    - {event: "Order Completed", template: "{{name}} ordered {{properties.total}} {{properties.currency}}"}
                  \(delivery)
              - id: customerio
                name: Customer.io
                type: customerio
                config:
                  siteId: \(Credentials.customerIOSite)
                  apiKey: \(Credentials.customerIOKey)
                  endpoint: \(tools)/customerio
                  \(delivery)
              - id: ga4
                name: GA4
                type: ga4
                config:
                  measurementId: \(Credentials.ga4Measurement)
                  apiSecret: \(Credentials.ga4Secret)
                  endpoint: \(tools)/ga4
                  \(delivery)
              - id: webhook
                name: Webhook
                type: webhook
                config:
                  url: \(tools)/webhook/events
                  headers: {X-Signature: \(Credentials.webhookSecret)}
                  \(delivery)
              - id: intercom
                name: Intercom
                type: intercom
                config:
                  accessToken: \(Credentials.intercomToken)
                  endpoint: \(tools)/intercom
                  \(delivery)
              - id: salesforce
                name: Salesforce
                type: salesforce
                config:
                  clientId: \(SalesforceOrg.clientId)
                  clientSecret: \(SalesforceOrg.clientSecret)
                  username: \(SalesforceOrg.username)
                  password: \(SalesforceOrg.password)
                  securityToken: \(SalesforceOrg.securityToken)
                  loginURL: \(tools)/salesforce
                  \(delivery)
            connections:
            \(connections)
            """
    }
}

/// Events shaped like the RudderStack/Segment server SDKs send them in a batch.
enum SDKEvent {
    static let library: JSON = ["library": ["name": "analytics-python", "version": "2.1.0"]]

    static func make(
        _ type: String, messageId: String, userId: String? = nil, anonymousId: String? = nil, timestamp: String,
        fields: JSONObject = [:], context: JSONObject = [:]
    ) -> JSON {
        var event: JSONObject = ["type": .string(type), "messageId": .string(messageId), "timestamp": .string(timestamp)]
        if let userId { event["userId"] = .string(userId) }
        if let anonymousId { event["anonymousId"] = .string(anonymousId) }
        var fullContext: JSONObject = ["library": library["library"] ?? .null]
        for (key, value) in context { fullContext[key] = value }
        event["context"] = .object(fullContext)
        for (key, value) in fields { event[key] = value }
        return .object(event)
    }
}
