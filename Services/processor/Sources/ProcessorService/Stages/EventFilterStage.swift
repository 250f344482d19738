import Destinations
import EventModel
import WorkspaceConfig

/// Stage 3b: the destination type's supported message types, then the destination's event-name
/// allow or deny list. The name is a track event's `event`, else the message type (`identify`,
/// `page`, …), as WorkspaceConfig's ``EventFilter`` documents.
public enum EventFilterStage {
    public enum Verdict: Equatable, Sendable {
        case pass
        case unsupportedMessageType
        case notAllowed
        case denied
    }

    public static func check(
        messageType: MessageType, eventName: String?, supported: Set<MessageType>, filter: EventFilter?
    ) -> Verdict {
        guard supported.contains(messageType) else { return .unsupportedMessageType }
        let name = messageType == .track ? (eventName ?? "") : messageType.rawValue
        switch filter {
        case .allow(let names)?: return names.contains(name) ? .pass : .notAllowed
        case .deny(let names)?: return names.contains(name) ? .denied : .pass
        case nil: return .pass
        }
    }
}

/// Stage 3c: consent. The event is not sent to a destination when any of the destination's
/// consent categories is in `context.consentManagement.deniedConsentIds`.
public enum ConsentFilter {
    public static func allows(_ event: JSON, categories: [String]) -> Bool {
        guard !categories.isEmpty,
            let denied = event[path: "context", "consentManagement", "deniedConsentIds"]?.arrayValue, !denied.isEmpty
        else { return true }
        for value in denied {
            guard let id = value.stringValue ?? value.intValue.map({ String($0) }) else { continue }
            if categories.contains(id) { return false }
        }
        return true
    }
}
