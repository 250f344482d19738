import EventModel

/// A delivery whose later requests depend on earlier answers (get a token, look a record up, then
/// create or update it), written as data so that it can travel in a `DeliveryJob`, be parked and
/// replayed, and be run by the router without any destination-specific code.
///
/// Each step is a request template. Strings in its URL, header values and JSON body may hold
/// `{{step.path}}` references to an earlier step's JSON answer (`{{token.instance_url}}`,
/// `{{lookup.records.0.Id}}`); `{{…|path}}` percent-encodes the value for a URL segment. A step
/// with `when` runs only if the condition holds on the answers so far. A step with `cacheSeconds`
/// (a token) may be answered from a per-destination cache; on a 401 from a later step the runner
/// drops that cache entry and runs the plan again once (`refreshOn401`).
///
/// Salesforce and Intercom identify/group map events to plans (``MappingOutcome/plan(_:)``); the
/// processor writes the plan into the `DeliveryJob` (``json``) and the router runs it, calling
/// ``resolve(_:answers:)`` (the pure "answers → next request" function) before each step
/// (docs/destinations.md, "Multi-step delivery").
public struct DeliveryPlan: Sendable, Equatable {
    public struct Condition: Sendable, Equatable {
        /// `step.path…` into the answers.
        public var path: [String]
        public var equals: JSON
        /// When true the step runs if the value differs (absent counts as different).
        public var negated: Bool

        public init(path: [String], equals: JSON, negated: Bool = false) {
            self.path = path
            self.equals = equals
            self.negated = negated
        }

        func holds(_ answers: [String: JSON]) -> Bool {
            let value = DeliveryPlan.lookup(path, in: answers)
            return (value == equals) != negated
        }
    }

    public struct Step: Sendable, Equatable {
        public var name: String
        public var request: DestinationRequest
        public var when: Condition?
        /// How long the answer may be reused for this destination (tokens); `nil`: never cached.
        public var cacheSeconds: Int?

        public init(name: String, request: DestinationRequest, when: Condition? = nil, cacheSeconds: Int? = nil) {
            self.name = name
            self.request = request
            self.when = when
            self.cacheSeconds = cacheSeconds
        }
    }

    public var steps: [Step]
    /// The cached step to drop and redo when a later step answers 401.
    public var refreshOn401: String?

    public init(steps: [Step], refreshOn401: String? = nil) {
        self.steps = steps
        self.refreshOn401 = refreshOn401
    }

    /// The request step `index` makes given the JSON answers of the steps run so far (by step
    /// name), or `nil` when its condition does not hold (skip it). Fails, naming the reference,
    /// when a referenced value is missing: the runner records that as a failed delivery.
    public func resolve(_ index: Int, answers: [String: JSON]) -> Result<DestinationRequest?, PlanError> {
        let step = steps[index]
        if let when = step.when, !when.holds(answers) { return .success(nil) }
        do throws(PlanError) {
            var request = step.request
            request.url = try Self.substitute(request.url, answers)
            request.headers = try request.headers.map { header throws(PlanError) in
                (header.name, try Self.substitute(header.value, answers))
            }
            switch request.body {
            case .json(let body): request.body = .json(try Self.substitute(body, answers))
            case .form(let fields):
                request.body = .form(try fields.map { field throws(PlanError) in (field.0, try Self.substitute(field.1, answers)) })
            case .none: break
            }
            return .success(request)
        } catch {
            return .failure(error)
        }
    }

    /// A reference that could not be resolved; names the reference, never a value.
    public struct PlanError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reference: String
        public var description: String { "plan reference {{\(reference)}} has no value in the answers so far" }
    }

    static func lookup(_ path: [String], in answers: [String: JSON]) -> JSON? {
        guard let first = path.first, var current = answers[first] else { return nil }
        for key in path.dropFirst() {
            if let index = Int(key), let array = current.arrayValue {
                guard index >= 0, index < array.count else { return nil }
                current = array[index]
            } else {
                guard let next = current[key] else { return nil }
                current = next
            }
        }
        return current
    }

    static func substitute(_ text: String, _ answers: [String: JSON]) throws(PlanError) -> String {
        guard text.contains("{{") else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{"), let close = rest[open.upperBound...].firstRange(of: "}}") {
            out += rest[..<open.lowerBound]
            var reference = String(rest[open.upperBound..<close.lowerBound])
            var encode = false
            if reference.hasSuffix("|path") {
                reference.removeLast(5)
                encode = true
            }
            let path = reference.split(separator: ".").map(String.init)
            guard let value = lookup(path, in: answers), !value.isNull else { throw PlanError(reference: reference) }
            let textValue = value.parameterText
            out += encode ? URLEncoding.component(textValue) : textValue
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    static func substitute(_ value: JSON, _ answers: [String: JSON]) throws(PlanError) -> JSON {
        switch value {
        case .string(let text): return .string(try substitute(text, answers))
        case .array(let items): return .array(try items.map { item throws(PlanError) in try substitute(item, answers) })
        case .object(let object):
            var out = JSONObject()
            for (key, item) in object { out[key] = try substitute(item, answers) }
            return .object(out)
        default: return value
        }
    }
}

/// What a planning mapping (Salesforce, Intercom identify) makes of one event.
public enum PlanOutcome: Sendable, Equatable {
    case plan(DeliveryPlan)
    /// The event cannot be mapped; the reason never quotes configuration values.
    case abort(reason: String)
}

extension DeliveryPlan {
    /// The plan as carried in a `DeliveryJob` (`"plan"`, beside `requests`):
    /// `{"steps":[{"name","request",when?:{"path":"a.b","equals":…,"negated":bool},"cacheSeconds"?}],"refreshOn401"?}`.
    public var json: JSON {
        var object = JSONObject()
        object["steps"] = .array(
            steps.map { step in
                var item = JSONObject()
                item["name"] = .string(step.name)
                item["request"] = step.request.json
                if let when = step.when {
                    item["when"] = [
                        "path": .string(when.path.joined(separator: ".")), "equals": when.equals, "negated": .bool(when.negated),
                    ]
                }
                if let seconds = step.cacheSeconds { item["cacheSeconds"] = .int(Int64(seconds)) }
                return .object(item)
            })
        if let refreshOn401 { object["refreshOn401"] = .string(refreshOn401) }
        return .object(object)
    }
}

extension DeliveryPlan {
    /// Reads a plan written by ``json``. Errors name the field, never a value.
    public init(json: JSON) throws(EnvelopeError) {
        guard let list = json["steps"]?.arrayValue, !list.isEmpty else {
            throw EnvelopeError(code: .missingField, reason: "plan has no steps")
        }
        var steps: [Step] = []
        steps.reserveCapacity(list.count)
        var names = Set<String>()
        for (index, item) in list.enumerated() {
            guard let name = item["name"]?.stringValue, !name.isEmpty, !name.contains("."), names.insert(name).inserted else {
                throw EnvelopeError(code: .wrongType, reason: "plan steps[\(index)].name is missing, repeated or has a dot")
            }
            guard let requestJSON = item["request"], let request = DestinationRequest(json: requestJSON) else {
                throw EnvelopeError(code: .wrongType, reason: "plan step \(name) has a malformed request")
            }
            var condition: Condition?
            if let when = item["when"], !when.isNull {
                guard let path = when["path"]?.stringValue, !path.isEmpty else {
                    throw EnvelopeError(code: .wrongType, reason: "plan step \(name) has a malformed when")
                }
                condition = Condition(
                    path: path.split(separator: ".").map(String.init), equals: when["equals"] ?? .null,
                    negated: when["negated"]?.boolValue ?? false)
            }
            var cacheSeconds: Int?
            if let seconds = item["cacheSeconds"], !seconds.isNull {
                guard let value = seconds.intValue, value > 0 else {
                    throw EnvelopeError(code: .wrongType, reason: "plan step \(name) cacheSeconds is not a positive integer")
                }
                cacheSeconds = Int(value)
            }
            steps.append(Step(name: name, request: request, when: condition, cacheSeconds: cacheSeconds))
        }
        var refreshOn401: String?
        if let refresh = json["refreshOn401"], !refresh.isNull {
            guard let name = refresh.stringValue, names.contains(name) else {
                throw EnvelopeError(code: .wrongType, reason: "plan refreshOn401 does not name a step")
            }
            refreshOn401 = name
        }
        self.init(steps: steps, refreshOn401: refreshOn401)
    }
}
