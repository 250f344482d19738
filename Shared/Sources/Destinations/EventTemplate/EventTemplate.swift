import EventModel

/// A text template with `{{path}}` placeholders resolved against an event: `{{event}}`,
/// `{{properties.plan}}`, `{{traits.name}}` (the user's merged traits), `{{context.page.url}}`.
/// Shared by the destinations that name events or write messages from templates (Amplitude's
/// page/screen names, Slack's messages). Parsed once, when the mapper is built.
struct EventTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case field([String])
    }

    let parts: [Part]

    /// `nil` when a `{{` is not closed or a placeholder is empty.
    init?(_ source: String) {
        var parts: [Part] = []
        var rest = Substring(source)
        while let open = rest.firstRange(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstRange(of: "}}") else { return nil }
            let path = String(afterOpen[..<close.lowerBound]).trimmingSpaces
            guard !path.isEmpty else { return nil }
            parts.append(.field(path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)))
            rest = afterOpen[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// The placeholders' paths, e.g. `["name"]` for `Viewed {{name}} Page`.
    var fields: [[String]] {
        parts.compactMap { if case .field(let path) = $0 { path } else { nil } }
    }

    /// The text with each placeholder replaced by the event's value (strings as they are, other
    /// values as JSON, passed through `escape`); `nil` when a placeholder has no value and `allowMissing` is false,
    /// otherwise missing values render as an empty string.
    func render(_ event: JSON, allowMissing: Bool = true, escape: (String) -> String = { $0 }) -> String? {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .field(let path):
                guard let value = Self.value(path, in: event), !value.isNull else {
                    if allowMissing { continue }
                    return nil
                }
                out += escape(value.parameterText)
            }
        }
        return out
    }

    /// `traits.x` reads the merged traits (`context.traits` then `traits`); other paths read the
    /// event as it is.
    static func value(_ path: [String], in event: JSON) -> JSON? {
        guard let first = path.first else { return nil }
        var current: JSON?
        if first == "traits" {
            current = .object(event.mergedTraits)
        } else {
            current = event[first]
        }
        for key in path.dropFirst() {
            guard let value = current else { return nil }
            if let index = Int(key), let array = value.arrayValue {
                current = index >= 0 && index < array.count ? array[index] : nil
            } else {
                current = value[key]
            }
        }
        return current
    }
}
