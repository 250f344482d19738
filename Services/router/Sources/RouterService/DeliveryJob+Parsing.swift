import Destinations
import EventModel

/// A `keel.deliver.*` value that is not a usable delivery job. The description names the field,
/// never its value.
public struct InvalidDeliveryJob: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "invalid delivery job: \(reason)" }
}

extension DeliveryJob {
    /// Parses a `DeliveryJob` value (docs/architecture.md): requests and plan with Destinations'
    /// decoders (`DestinationRequest(json:)`, `DeliveryPlan(json:)`), the routing fields leniently:
    /// `key` (the Kafka key, `<destinationId>:<userKey>`) fills `destinationId`/`userKey` when the
    /// value lacks them.
    public init(parsing bytes: [UInt8], key: [UInt8]? = nil) throws {
        let value: JSON
        do { value = try JSON(parsing: bytes) } catch { throw InvalidDeliveryJob(reason: "not JSON") }
        guard case .object = value else { throw InvalidDeliveryJob(reason: "not an object") }
        var keyDestination: String?
        var keyUser: String?
        if let key, let colon = key.firstIndex(of: UInt8(ascii: ":")) {
            keyDestination = String(decoding: key[..<colon], as: UTF8.self)
            keyUser = String(decoding: key[(colon + 1)...], as: UTF8.self)
        }
        guard let destinationId = value["destinationId"]?.stringValue ?? keyDestination else {
            throw InvalidDeliveryJob(reason: "missing destinationId")
        }
        var plan: DeliveryPlan?
        if let planJSON = value["plan"], !planJSON.isNull {
            do throws(EnvelopeError) {
                plan = try DeliveryPlan(json: planJSON)
            } catch {
                throw InvalidDeliveryJob(reason: error.reason)
            }
        }
        guard let requestsJSON = value["requests"]?.arrayValue ?? (plan != nil ? [] : nil) else {
            throw InvalidDeliveryJob(reason: "missing requests")
        }
        var requests: [DestinationRequest] = []
        requests.reserveCapacity(requestsJSON.count)
        for (index, request) in requestsJSON.enumerated() {
            guard let decoded = DestinationRequest(json: request) else {
                throw InvalidDeliveryJob(reason: "requests[\(index)] is not a request (method, url, string headers, body)")
            }
            requests.append(decoded)
        }
        self.init(
            workspaceId: value["workspaceId"]?.stringValue ?? "",
            sourceId: value["sourceId"]?.stringValue ?? "",
            destinationId: destinationId,
            destinationType: value["destinationType"]?.stringValue ?? "",
            messageId: value["messageId"]?.stringValue ?? "",
            userKey: value["userKey"]?.stringValue ?? keyUser ?? "",
            eventType: value["eventType"]?.stringValue ?? "",
            eventName: value["eventName"]?.stringValue,
            receivedAtMillis: value["receivedAt"]?.stringValue.flatMap(Timestamp.parseMilliseconds),
            requests: requests,
            plan: plan,
            raw: bytes
        )
    }
}

extension JSON {
    /// Compact JSON text.
    var serializedString: String { String(decoding: serialized(), as: UTF8.self) }
}
