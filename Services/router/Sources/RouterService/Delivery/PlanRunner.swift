import AsyncHTTPClient
import Destinations
import EventModel

/// Runs a job's ``DeliveryPlan`` (docs/router.md, "Multi-step delivery") as one delivery, so that
/// ordering, retries, parking, failed events and replay treat it like any job.
///
/// Steps run in order; each is resolved against the JSON answers so far
/// (``DeliveryPlan/resolve(_:answers:)``), skipped when its `when` does not hold, and its 2xx answer
/// parsed as JSON for later references. A step with `cacheSeconds` is answered from the
/// deliverer's ``PlanAnswerCache``. When a later step answers 401 and the plan names a
/// `refreshOn401` step, that cached answer is dropped and the plan runs once more.
///
/// The first step that does not answer 2xx decides the outcome, classified like any request
/// (408/429/5xx/timeouts retry the whole plan later; other statuses fail), with the step's name in
/// the reason. A reference without a value fails the job, naming the reference. Values that may
/// be secrets (header and form values sent, cached answers such as tokens) are masked in the
/// response excerpt and reason.
extension HTTPDeliverer {
    public func deliverPlan(_ plan: DeliveryPlan, of job: DeliveryJob, timeout: Duration) async -> AttemptResult {
        let client = client(forType: job.destinationType)
        var secrets = SecretMask()
        var result = await runPlan(plan, of: job, client: client, timeout: timeout, secrets: &secrets)
        if case .unauthorized(_, let refresh) = result {
            // The token may have expired or been revoked: drop it and run the plan once more.
            if let refresh { planAnswers.invalidate(refresh.key, generation: refresh.generation) }
            result = await runPlan(plan, of: job, client: client, timeout: timeout, secrets: &secrets)
        }
        switch result {
        case .finished(let outcome):
            if case .failed(let failure) = outcome { return .failed(secrets.masked(failure)) }
            return outcome
        case .unauthorized(let failure, _):
            return .failed(secrets.masked(failure))
        }
    }

    private enum PlanRun {
        case finished(AttemptResult)
        /// A step after the `refreshOn401` step answered 401; `refresh` is the cached answer used.
        case unauthorized(DeliveryFailure, refresh: (key: PlanAnswerCache.Key, generation: UInt64)?)
    }

    private func runPlan(
        _ plan: DeliveryPlan, of job: DeliveryJob, client: HTTPClient, timeout: Duration, secrets: inout SecretMask
    ) async -> PlanRun {
        var answers: [String: JSON] = [:]
        var refresh: (key: PlanAnswerCache.Key, generation: UInt64)?
        var lastStatus = 204
        for index in plan.steps.indices {
            let step = plan.steps[index]
            let resolved: DestinationRequest?
            switch plan.resolve(index, answers: answers) {
            case .success(let request): resolved = request
            case .failure(let error):
                return .finished(.failed(DeliveryFailure(kind: .invalidJob, reason: "plan step \(step.name): \(error)", retryable: false)))
            }
            guard let resolved else { continue }
            secrets.add(resolved)

            if let seconds = step.cacheSeconds {
                let key = PlanAnswerCache.Key(destinationId: job.destinationId, step: step.name, request: resolved.json.serializedString)
                let outcome = await planAnswers.answer(for: key, ttl: .seconds(seconds)) {
                    let (result, answer) = await send(resolved, client: client, completedRequests: 0, timeout: timeout, answerLimit: maxPlanAnswerBytes)
                    switch result {
                    case .failed(let failure): return .failure(failure)
                    case .delivered: return .success(Self.parseAnswer(answer))
                    }
                }
                switch outcome {
                case .failure(let failure): return .finished(.failed(Self.named(failure, step: step.name)))
                case .success(let cached):
                    answers[step.name] = cached.answer
                    secrets.add(answer: cached.answer)
                    if step.name == plan.refreshOn401 { refresh = (key, cached.generation) }
                }
                continue
            }

            let (result, answer) = await send(resolved, client: client, completedRequests: 0, timeout: timeout, answerLimit: maxPlanAnswerBytes)
            switch result {
            case .delivered(let status):
                lastStatus = status
                answers[step.name] = Self.parseAnswer(answer)
            case .failed(let failure):
                let named = Self.named(failure, step: step.name)
                if failure.statusCode == 401, let refreshStep = plan.refreshOn401, answers[refreshStep] != nil {
                    return .unauthorized(named, refresh: refresh)
                }
                return .finished(.failed(named))
            }
        }
        return .finished(.delivered(statusCode: lastStatus))
    }

    /// A 2xx answer as JSON; an empty, non-JSON or too long one is `null` (a reference into it then
    /// fails, naming the reference).
    static func parseAnswer(_ bytes: [UInt8]?) -> JSON {
        guard let bytes, !bytes.isEmpty else { return .null }
        return (try? JSON(parsing: bytes)) ?? .null
    }

    static func named(_ failure: DeliveryFailure, step: String) -> DeliveryFailure {
        var named = failure
        named.reason = "plan step \(step): \(failure.reason)"
        named.completedRequests = 0
        return named
    }
}

/// Values a plan sent or received that may be secrets, masked in what a failure shows.
struct SecretMask {
    static let minimumLength = 6
    private(set) var values: Set<String> = []

    /// Header values (the part after a scheme word too) and form values of a request sent.
    mutating func add(_ request: DestinationRequest) {
        for header in request.headers {
            switch header.name.lowercased() {
            case "content-type", "accept", "intercom-version": continue
            default:
                insert(header.value)
                if let space = header.value.firstIndex(of: " ") { insert(String(header.value[header.value.index(after: space)...])) }
            }
        }
        if case .form(let fields) = request.body {
            for (_, value) in fields { insert(value) }
        }
    }

    /// The string values of a cached answer (a token answer holds the token).
    mutating func add(answer: JSON) {
        switch answer {
        case .string(let text): insert(text)
        case .array(let items): for item in items { add(answer: item) }
        case .object(let object): for (_, item) in object { add(answer: item) }
        default: break
        }
    }

    private mutating func insert(_ value: String) {
        if value.count >= Self.minimumLength { values.insert(value) }
    }

    func masked(_ failure: DeliveryFailure) -> DeliveryFailure {
        guard !values.isEmpty else { return failure }
        var masked = failure
        masked.reason = mask(failure.reason)
        masked.responseExcerpt = failure.responseExcerpt.map(mask)
        return masked
    }

    func mask(_ text: String) -> String {
        var out = text
        // Longest first, so that a token is not half-masked by a shorter value inside it.
        for value in values.sorted(by: { $0.count > $1.count }) where out.contains(value) {
            out = out.replacing(value, with: "****")
        }
        return out
    }
}
