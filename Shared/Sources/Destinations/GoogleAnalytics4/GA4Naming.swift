import EventModel

/// GA4's naming rules for events, parameters and user properties: letters, digits and
/// underscores, starting with a letter; at most 40 characters (24 for user properties); no
/// reserved names or prefixes.
enum GA4Naming {
    /// Names the Measurement Protocol refuses.
    static let reservedEventNames: Set<String> = [
        "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward", "adunit_exposure",
        "app_background", "app_clear_data", "app_exception", "app_install", "app_remove", "app_store_refund",
        "app_store_subscription_cancel", "app_store_subscription_convert", "app_store_subscription_renew",
        "app_update", "app_upgrade", "dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open",
        "error", "first_open", "first_visit", "in_app_purchase", "notification_dismiss", "notification_foreground",
        "notification_open", "notification_receive", "os_update", "session_start", "session_start_with_rollout",
        "user_engagement",
    ]
    static let reservedPrefixes = ["_", "firebase_", "ga_", "google_", "gtag."]
    static let reservedUserProperties: Set<String> = [
        "first_open_time", "first_visit_time", "last_deep_link_referrer", "user_id", "first_open_after_install",
    ]

    enum NameError: Error, Equatable {
        case empty, startsWithNonLetter, reserved
    }

    /// A custom event name as GA4 takes it: lower-cased, every run of other characters turned
    /// into one `_`, trimmed of `_`, cut to 40 characters. "Button Clicked" → "button_clicked".
    static func eventName(_ raw: String) -> Result<String, NameError> {
        let name = snakeCase(raw, limit: 40)
        guard let first = name.unicodeScalars.first else { return .failure(.empty) }
        guard isLetter(first) else { return .failure(.startsWithNonLetter) }
        if reservedEventNames.contains(name) || hasReservedPrefix(name) {
            return .failure(.reserved)
        }
        return .success(name)
    }

    /// A parameter or user-property name, or `nil` when it cannot be used.
    static func parameterName(_ raw: String, limit: Int = 40) -> String? {
        if hasReservedPrefix(raw) { return nil }
        if isValidName(raw, limit: limit) { return raw }
        let name = snakeCase(raw, limit: limit, lowercase: false)
        guard let first = name.unicodeScalars.first, isLetter(first) else { return nil }
        return name
    }

    static func snakeCase(_ raw: String, limit: Int, lowercase: Bool = true) -> String {
        var out = ""
        var pendingUnderscore = false
        for scalar in raw.unicodeScalars {
            if isLetter(scalar) || ("0"..."9").contains(scalar) || scalar == "_" {
                if pendingUnderscore, !out.isEmpty { out.append("_") }
                pendingUnderscore = false
                out.unicodeScalars.append(lowercase ? Unicode.Scalar(scalar.value | (isUpper(scalar) ? 0x20 : 0))! : scalar)
            } else {
                pendingUnderscore = true
            }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return String(out.prefix(limit))
    }

    /// Whether `name` starts with one of ``reservedPrefixes`` (compared byte for byte, as
    /// `hasPrefix` does for these ASCII prefixes), looking at the first byte before comparing.
    static func hasReservedPrefix(_ name: String) -> Bool {
        switch name.utf8.first {
        case UInt8(ascii: "_")?, UInt8(ascii: "f")?, UInt8(ascii: "g")?:
            return reservedPrefixes.contains(where: name.hasPrefix)
        default:
            return false
        }
    }

    /// Whether `raw` is already what ``snakeCase(_:limit:lowercase:)`` makes of it without
    /// lower-casing: ASCII letters, digits and `_`, a letter first, no trailing `_`, at most
    /// `limit` long. Most property names are; they then need no new string.
    static func isValidName(_ raw: String, limit: Int) -> Bool {
        let utf8 = raw.utf8
        guard let first = utf8.first, utf8.count <= limit, utf8.last != UInt8(ascii: "_"),
            (first | 0x20) &- UInt8(ascii: "a") < 26
        else { return false }
        for byte in utf8 {
            let letter = (byte | 0x20) &- UInt8(ascii: "a") < 26
            guard letter || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "_") else { return false }
        }
        return true
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isUpper(_ scalar: Unicode.Scalar) -> Bool { ("A"..."Z").contains(scalar) }
}
