import EventModel
import Foundation

/// The test workspace's credentials (fake values; the tool server checks them).
enum Credentials {
    static let amplitudeKey = "amp-e2e-key"
    static let mixpanelToken = "mp-e2e-token"
    static let mixpanelUser = "keel-e2e.sa"
    static let mixpanelSecret = "mp-sa-secret"
    static let mixpanelProject = "3141592"
    static let hubspotToken = "pat-e2e-token"
    static let brazeKey = "braze-e2e-key"
    static let customerIOSite = "cio-site-7"
    static let customerIOKey = "cio-api-key"
    static let ga4Measurement = "G-E2E123"
    static let ga4Secret = "ga-e2e-secret"
    static let intercomToken = "ic-e2e-token"
    static let webhookSecret = "hook-e2e-secret"

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data((user + ":" + password).utf8).base64EncodedString()
    }
}

/// How each tool answers, from its public API documentation. A request with the wrong
/// credentials or a payload the tool would reject gets the tool's documented error status, so
/// the router records it as failed and the test sees a non-2xx status.
enum ToolAPIs {
    static func answer(_ request: ReceivedRequest, plans: PlanTools) -> ToolAnswer {
        switch request.destination {
        case "amplitude": amplitude(request)
        case "mixpanel": mixpanel(request)
        case "hubspot": hubspot(request)
        case "braze": braze(request)
        case "slack": slack(request)
        case "customerio": customerIO(request)
        case "ga4": ga4(request)
        case "webhook": request.headers["x-signature"] == Credentials.webhookSecret ? .text(200, "ok") : .text(401, "bad signature")
        case "intercom": plans.intercom(request)
        case "salesforce": plans.salesforce(request)
        case "enrich": enrich(request)
        default: .json(404, ["message": "no such tool"])
        }
    }

    /// An enrichment API a transformation calls with `fetch` (Clearbit-like: `GET /person?email=`).
    static func enrich(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.method == "GET", request.path == "/person", let email = request.query["email"] else {
            return .json(404, ["message": "not found"])
        }
        let company: JSON = email.hasSuffix("@acme.example") ? "Acme Corp" : .null
        return .json(200, ["email": .string(email), "company": company])
    }

    /// Amplitude HTTP V2 (`POST /2/httpapi`, JSON `{api_key, events}`; each event needs
    /// `event_type` and a `user_id` or `device_id`): 200 with `events_ingested`; 400 for an invalid
    /// key or a missing field. Group Identify API (`POST /groupidentify`, form `api_key`,
    /// `identification` = JSON array of `{group_type, group_value, group_properties}`): 200 `success`.
    static func amplitude(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.method == "POST" else { return .json(405, ["code": 405]) }
        switch request.path {
        case "/2/httpapi", "/batch":
            guard request.json?["api_key"]?.stringValue == Credentials.amplitudeKey else {
                return .json(400, ["code": 400, "error": "Invalid API key"])
            }
            guard let events = request.json?["events"]?.arrayValue, !events.isEmpty,
                events.allSatisfy({ $0["event_type"]?.stringValue != nil && ($0["user_id"] != nil || $0["device_id"] != nil) })
            else { return .json(400, ["code": 400, "error": "Request missing required field", "missing_field": "event_type"]) }
            return .json(
                200,
                [
                    "code": 200, "events_ingested": .int(Int64(events.count)), "payload_size_bytes": .int(Int64(request.bodyText.utf8.count)),
                    "server_upload_time": 1_795_953_601_000,
                ])
        case "/groupidentify":
            guard request.form["api_key"] == Credentials.amplitudeKey else { return .text(400, "invalid api_key") }
            guard let identification = request.form["identification"], let groups = try? JSON(parsing: Array(identification.utf8)),
                groups.arrayValue?.allSatisfy({ $0["group_type"] != nil && $0["group_value"] != nil }) == true
            else { return .text(400, "missing identification") }
            return .text(200, "success")
        default:
            return .json(404, ["code": 404])
        }
    }

    /// Mixpanel Ingestion API. `/import` (Basic auth with a service account, `project_id` query;
    /// `strict=1` validates each event: `time`, `distinct_id` and `$insert_id` are required):
    /// 200 `{code, num_records_imported, status}`, 401 on bad credentials, 400 with
    /// `failed_records`. `/engage` and `/groups` (authenticated by `$token` in each update):
    /// `1` on success, `0` when an update is invalid.
    static func mixpanel(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.method == "POST" else { return .json(405, ["error": "method not allowed"]) }
        switch request.path {
        case "/import":
            guard request.authorization == Credentials.basic(Credentials.mixpanelUser, Credentials.mixpanelSecret),
                request.query["project_id"] == Credentials.mixpanelProject
            else { return .json(401, ["error": "Invalid credentials", "status": 0]) }
            guard let events = request.json?.arrayValue else { return .json(400, ["error": "body must be a JSON array", "status": 0]) }
            var failed: [JSON] = []
            for (index, event) in events.enumerated() {
                let properties = event["properties"]
                if event["event"]?.stringValue == nil || properties?["time"]?.intValue == nil || properties?["distinct_id"] == nil
                    || properties?["$insert_id"]?.stringValue == nil
                {
                    failed.append(["index": .int(Int64(index)), "message": "missing required field"])
                }
            }
            guard failed.isEmpty else {
                return .json(
                    400,
                    [
                        "code": 400, "error": "some data points in the request failed validation", "status": "Bad Request",
                        "num_records_imported": .int(Int64(events.count - failed.count)), "failed_records": .array(failed),
                    ])
            }
            return .json(200, ["code": 200, "num_records_imported": .int(Int64(events.count)), "status": "OK"])
        case "/engage", "/groups":
            guard let updates = request.json?.arrayValue,
                updates.allSatisfy({ $0["$token"]?.stringValue == Credentials.mixpanelToken })
            else { return .text(200, "0") }
            return .text(200, "1")
        default:
            return .json(404, ["error": "not found"])
        }
    }

    /// HubSpot (private app token as `Authorization: Bearer`, else 401). Contacts batch upsert
    /// (`POST /crm/v3/objects/contacts/batch/upsert`, `inputs` of `{idProperty, id, properties}`):
    /// 200 `{status: COMPLETE, results}`. Custom event send (`POST /events/v3/send`, `eventName`
    /// plus `email`, `utk` or `objectId`; `/events/v3/send/batch` takes them as `inputs`): 204
    /// without a body.
    static func hubspot(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.authorization == "Bearer " + Credentials.hubspotToken else {
            return .json(401, ["status": "error", "message": "Authentication credentials not found", "category": "INVALID_AUTHENTICATION"])
        }
        switch (request.method, request.path) {
        case ("POST", "/crm/v3/objects/contacts/batch/upsert"):
            guard let inputs = request.json?["inputs"]?.arrayValue, !inputs.isEmpty,
                inputs.allSatisfy({ $0["id"]?.stringValue != nil && $0["properties"]?.objectValue != nil })
            else { return .json(400, ["status": "error", "category": "VALIDATION_ERROR"]) }
            let results: [JSON] = inputs.enumerated().map { index, input in
                ["id": .string("\(1000 + index)"), "properties": input["properties"] ?? [:], "new": true]
            }
            return .json(200, ["status": "COMPLETE", "results": .array(results)])
        case ("POST", "/events/v3/send"), ("POST", "/events/v3/send/batch"):
            let occurrences = request.path.hasSuffix("/batch") ? (request.json?["inputs"]?.arrayValue ?? []) : [request.json ?? .null]
            guard !occurrences.isEmpty,
                occurrences.allSatisfy({ $0["eventName"]?.stringValue != nil && ($0["email"] != nil || $0["utk"] != nil || $0["objectId"] != nil) })
            else { return .json(400, ["status": "error", "category": "VALIDATION_ERROR"]) }
            return .empty(204)
        default:
            return .json(404, ["status": "error", "category": "OBJECT_NOT_FOUND"])
        }
    }

    /// Braze REST API (`Authorization: Bearer <REST API key>`, else 401). `POST /users/track` with
    /// `attributes`, `events`, `purchases` arrays (each object names the user by `external_id`,
    /// `user_alias` or `braze_id`): 201 `{message: success}`. `POST /users/identify` with
    /// `aliases_to_identify`: 201.
    static func braze(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.authorization == "Bearer " + Credentials.brazeKey else { return .json(401, ["message": "Invalid API Key"]) }
        switch (request.method, request.path) {
        case ("POST", "/users/track"):
            let objects = ["attributes", "events", "purchases"].flatMap { request.json?[$0]?.arrayValue ?? [] }
            guard !objects.isEmpty,
                objects.allSatisfy({ $0["external_id"] != nil || $0["user_alias"] != nil || $0["braze_id"] != nil })
            else { return .json(400, ["message": "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."]) }
            return .json(201, ["message": "success", "attributes_processed": .int(Int64(request.json?["attributes"]?.arrayValue?.count ?? 0))])
        case ("POST", "/users/identify"):
            guard request.json?["aliases_to_identify"]?.arrayValue?.isEmpty == false else {
                return .json(400, ["message": "aliases_to_identify is required"])
            }
            return .json(201, ["message": "success"])
        default:
            return .json(404, ["message": "not found"])
        }
    }

    /// Slack incoming webhooks (`POST /services/T…/B…/…`, JSON with `text`): 200 `ok`; 400
    /// `no_text` without text.
    static func slack(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.method == "POST", request.path.hasPrefix("/services/") else { return .text(404, "no_service") }
        guard request.json?["text"]?.stringValue?.isEmpty == false else { return .text(400, "no_text") }
        return .text(200, "ok")
    }

    /// Customer.io Track API (`Authorization: Basic base64(site_id:api_key)`, else 401): v1
    /// endpoints answer 200 with an empty JSON object; v2 `POST /api/v2/batch` takes `batch`, a
    /// list of operations each with `type`, `action` and `identifiers`, and answers 200 too.
    static func customerIO(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.authorization == Credentials.basic(Credentials.customerIOSite, Credentials.customerIOKey) else {
            return .json(401, ["meta": ["error": "Unauthorized request"]])
        }
        if request.path == "/api/v2/batch" {
            guard let operations = request.json?["batch"]?.arrayValue, !operations.isEmpty,
                operations.allSatisfy({ $0["type"]?.stringValue != nil && $0["action"]?.stringValue != nil })
            else { return .json(400, ["errors": [["reason": "invalid batch"]]]) }
            return .json(200, [:])
        }
        guard request.path.hasPrefix("/api/v1/") else { return .json(404, ["meta": ["error": "not found"]]) }
        return .json(200, [:])
    }

    /// GA4 Measurement Protocol (`POST /mp/collect?measurement_id=&api_secret=`): Google answers
    /// 2xx to every well-formed request (it does not report invalid events; the debug endpoint
    /// does), so this server answers 204 and the test checks the content.
    static func ga4(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.method == "POST", request.path == "/mp/collect" else { return .empty(404) }
        return .empty(204)
    }

    /// Intercom REST API (`Authorization: Bearer`, else 401 `{type: error.list}`; the
    /// `Intercom-Version` header picks the version). `POST /events`: 202 without a body.
    static func intercom(_ request: ReceivedRequest) -> ToolAnswer {
        guard request.authorization == "Bearer " + Credentials.intercomToken else {
            return .json(401, ["type": "error.list", "errors": [["code": "unauthorized", "message": "Access Token Invalid"]]])
        }
        switch (request.method, request.path) {
        case ("POST", "/events"):
            guard request.json?["event_name"]?.stringValue != nil, request.json?["created_at"]?.intValue != nil,
                request.json?["user_id"] != nil || request.json?["email"] != nil || request.json?["id"] != nil
            else { return .json(400, ["type": "error.list", "errors": [["code": "parameter_invalid"]]]) }
            return .empty(202)
        default:
            return .json(404, ["type": "error.list", "errors": [["code": "not_found"]]])
        }
    }
}
