import Destinations
import EventModel

/// A `keel.deliver.*` value that is not a usable delivery job. The description names the field,
/// never its value.
public struct InvalidDeliveryJob: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "invalid delivery job: \(reason)" }
}

extension DeliveryJob {
    /// Parses a `DeliveryJob` value (docs/architecture.md). `key` (the Kafka key,
    /// `<destinationId>:<userKey>`) fills `destinationId`/`userKey` when the value lacks them.
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
        // The plan's format is Destinations' (one decoder for the processor's writer and the router).
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
        var requests: [DeliveryRequest] = []
        requests.reserveCapacity(requestsJSON.count)
        for (index, request) in requestsJSON.enumerated() {
            guard let url = request["url"]?.stringValue else { throw InvalidDeliveryJob(reason: "requests[\(index)].url missing") }
            var headers: [(name: String, value: String)] = []
            if let object = request["headers"]?.objectValue {
                for (name, value) in object {
                    if let text = value.stringValue {
                        headers.append((name, text))
                    } else if !value.isNull {
                        headers.append((name, value.serializedString))
                    }
                }
            }
            let body = request["body"].flatMap { $0.isNull ? nil : $0 }
            let format = request["bodyFormat"]?.stringValue.flatMap(DeliveryRequest.BodyFormat.init(rawValue:))
                ?? (body == nil ? .none : .json)
            requests.append(
                DeliveryRequest(method: request["method"]?.stringValue ?? "POST", url: url, headers: headers, body: body, bodyFormat: format)
            )
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
