import EventModel

/// Stage 3a: the event's `integrations` object, as in the RudderStack/Segment spec.
///
/// - `All` missing means true; a non-boolean `All` sends nowhere.
/// - The destination's own key decides when present: its id, its name, its type's display name
///   (`Customer.io`, `Google Analytics 4`, `Webhook`) or one of the type's aliases, first match in
///   that order. `true` or an object (per-destination options) sends; `false` skips. Other values
///   are ignored.
/// - Otherwise `All` decides.
public enum IntegrationsFilter {
    public static func allows(_ integrations: JSON?, keys: [String]) -> Bool {
        guard let integrations, case .object(let object) = integrations else { return true }
        var all = true
        if let value = object["All"] {
            guard case .bool(let flag) = value else { return false }
            all = flag
        }
        for key in keys {
            switch object[key] {
            case .bool(let flag)?: return flag
            case .object?: return true
            default: continue
            }
        }
        return all
    }
}
