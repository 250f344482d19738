import EventModel
import Foundation

/// Hides secrets before configuration is printed or logged.
///
/// Masked as `***`: values under keys that look secret (password, secret, token, apiKey, key,
/// privateKey, authorization, credentials, …, compared case-insensitively without `_`/`-`), passwords
/// inside URLs, and, when the unresolved template is given, every string that came from a `${…}`.
public enum SecretMasking {
    public static let mask = "***"

    private static let secretWords = [
        "password", "passwd", "secret", "token", "apikey", "privatekey", "authorization", "credential",
        "accesskey", "signingkey", "clientsecret", "cookie",
    ]

    /// Whether a field named `key` holds a secret.
    public static func isSecretKey(_ key: String) -> Bool {
        let normalized = key.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " }
        if secretWords.contains(where: { normalized.contains($0) }) { return true }
        return normalized == "key" || normalized.hasSuffix("key")
    }

    /// `value` with secrets replaced by `***`.
    ///
    /// - Parameter template: the same value before `${…}` resolution; strings whose template holds a
    ///   reference are masked whatever their key.
    public static func masked(_ value: JSON, template: JSON? = nil) -> JSON {
        switch value {
        case .string(let text):
            if case .string(let original)? = template, !SecretResolver.references(in: original).isEmpty {
                return .string(mask)
            }
            return .string(maskingURLPassword(text))
        case .array(let elements):
            var templates: [JSON]? = nil
            if case .array(let original)? = template { templates = original }
            return .array(elements.enumerated().map { index, element in
                masked(element, template: templates.flatMap { index < $0.count ? $0[index] : nil })
            })
        case .object(let object):
            var templateObject: JSONObject? = nil
            if case .object(let original)? = template { templateObject = original }
            var result = JSONObject()
            for (key, child) in object {
                if isSecretKey(key), !isEmptyOrNull(child) {
                    result[key] = .string(mask)
                } else {
                    result[key] = masked(child, template: templateObject?[key])
                }
            }
            return .object(result)
        default:
            return value
        }
    }

    /// `text` with the password of a `scheme://user:password@host` URL replaced by `***`.
    public static func maskingURLPassword(_ text: String) -> String {
        guard text.contains("://"), text.contains("@"),
            var components = URLComponents(string: text), components.password != nil
        else { return text }
        components.password = mask
        return components.string ?? mask
    }

    private static func isEmptyOrNull(_ value: JSON) -> Bool {
        switch value {
        case .null: return true
        case .string(let text): return text.isEmpty
        default: return false
        }
    }
}
