import AsyncHTTPClient
import EventModel
import NIOCore
import struct Destinations.BatchEndpoint
import struct Destinations.BatchSpec
import struct Destinations.BatchItemError
import struct Destinations.DestinationRequest

/// Sends a batch of jobs as one request and splits the answer back into one result per job:
///
/// - 2xx: every job delivered, except the items the tool lists as rejected (Braze's `errors`,
///   Customer.io's 207), which fail at once; an answer meaning "some failed, not saying which"
///   (HubSpot's 207) sends each job alone again;
/// - 408, 429, 5xx, timeout, connection error: every job gets the failure (retried with backoff);
/// - other 4xx listing rejected items (Amplitude's and Mixpanel's 400): those jobs fail at once;
///   the others are delivered when the tool took them (Mixpanel), else sent again as a batch
///   without the rejected ones (Amplitude), once;
/// - other 4xx: each job is sent alone, so one bad event never fails its neighbours.
///
/// A job sent alone is its own mapped request, exactly as without batching.
struct BatchDelivery: Sendable {
    let deliverer: HTTPDeliverer
    let spec: BatchSpec
    /// Largest answer body read (item errors are listed there).
    var maxResponseBytes = 1 << 20
    /// Jobs sent alone at once, when a batch is split.
    var aloneConcurrency = 8

    func deliver(_ jobs: [ScheduledJob], timeout: Duration, resendAllowed: Bool = true) async -> [AttemptResult] {
        guard jobs.count > 1, let first = jobs.first?.batch, let endpoint = spec.endpoint(of: first.group),
            let request = makeRequest(jobs)
        else { return await sendAlone(jobs, timeout: timeout) }
        let client = deliverer.client(forType: jobs[0].job.destinationType)
        let status: Int
        var body: [UInt8] = []
        var retryAfter: String?
        do {
            let httpRequest = try HTTPDeliverer.makeRequest(request)
            let response = try await client.execute(httpRequest, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
            status = Int(response.status.code)
            retryAfter = response.headers.first(name: "retry-after")
            for try await chunk in response.body {
                if body.count < maxResponseBytes { body += chunk.readableBytesView.prefix(maxResponseBytes - body.count) }
            }
        } catch let error as HTTPClientError {
            let isTimeout = error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout || error == .writeTimeout
            let failure = DeliveryFailure(
                kind: isTimeout ? .timeout : .connection, reason: isTimeout ? "timeout" : "connection error: \(error.shortDescription)",
                retryable: true)
            return Array(repeating: .failed(failure), count: jobs.count)
        } catch let error as InvalidDeliveryJob {
            // The batch URL is the jobs' own URL with another path: send them alone, where the
            // bad URL fails each job as it would without batching.
            _ = error
            return await sendAlone(jobs, timeout: timeout)
        } catch {
            let failure = DeliveryFailure(kind: .connection, reason: "connection error: \(type(of: error))", retryable: true)
            return Array(repeating: .failed(failure), count: jobs.count)
        }

        let success = (200..<300).contains(status)
        if success && endpoint.sendAloneOn.contains(status) { return await sendAlone(jobs, timeout: timeout) }
        let retryable = status == 408 || status == 429 || (500..<600).contains(status)
        if retryable {
            let result = OutcomeClassifier.classify(status: status, retryAfter: retryAfter, body: body, completedRequests: 0)
            return Array(repeating: result, count: jobs.count)
        }
        var rejected: [Int: String] = [:]
        if let itemErrors = endpoint.itemErrors, itemErrors.statuses.contains(status), let answer = try? JSON(parsing: body) {
            rejected = Self.rejectedJobs(itemErrors.parse(answer), jobs: jobs)
        }
        if success || (!rejected.isEmpty && endpoint.itemErrors?.othersAccepted == true) {
            return jobs.indices.map { index in
                rejected[index].map { .failed(Self.itemFailure(status: status, message: $0)) } ?? .delivered(statusCode: status)
            }
        }
        if rejected.isEmpty { return await sendAlone(jobs, timeout: timeout) }
        // The tool rejected the whole request because of some items: the others go again.
        let others = jobs.indices.filter { rejected[$0] == nil }
        let othersResults: [AttemptResult] =
            resendAllowed ? await deliver(others.map { jobs[$0] }, timeout: timeout, resendAllowed: false) : await sendAlone(others.map { jobs[$0] }, timeout: timeout)
        var results = jobs.indices.map { index in rejected[index].map { AttemptResult.failed(Self.itemFailure(status: status, message: $0)) } }
        for (position, index) in others.enumerated() { results[index] = othersResults[position] }
        return results.map { $0 ?? .delivered(statusCode: status) }
    }

    /// The batch request: the first job's headers, the endpoint's URL and merged body.
    func makeRequest(_ jobs: [ScheduledJob]) -> DestinationRequest? {
        let entries = jobs.compactMap { $0.batch?.entry }
        guard entries.count == jobs.count, let headers = jobs.first?.job.requests.first?.headers else { return nil }
        return spec.request(for: entries, headers: headers)
    }

    /// Each job's own request, a few at a time; results in job order.
    func sendAlone(_ jobs: [ScheduledJob], timeout: Duration) async -> [AttemptResult] {
        var results = [AttemptResult?](repeating: nil, count: jobs.count)
        await withTaskGroup(of: (Int, AttemptResult).self) { group in
            var next = 0
            func start() {
                let index = next
                next += 1
                group.addTask { (index, await deliverer.deliver(jobs[index], timeout: timeout)) }
            }
            while next < min(aloneConcurrency, jobs.count) { start() }
            for await (index, result) in group {
                results[index] = result
                if next < jobs.count { start() }
            }
        }
        return results.map { $0 ?? .failed(DeliveryFailure(kind: .connection, reason: "not sent", retryable: true)) }
    }

    /// Job index → the tool's message, for the rejected items (a job fails if any of its items did).
    static func rejectedJobs(_ errors: [BatchItemError], jobs: [ScheduledJob]) -> [Int: String] {
        guard !errors.isEmpty else { return [:] }
        var owners: [String: [Int]] = [:]
        for (index, job) in jobs.enumerated() {
            for item in job.batch?.entry.items ?? [] { owners[item.field, default: []].append(index) }
        }
        var rejected: [Int: String] = [:]
        for error in errors {
            guard let list = owners[error.field], error.index >= 0, error.index < list.count else { continue }
            let job = list[error.index]
            if rejected[job] == nil { rejected[job] = error.message }
        }
        return rejected
    }

    static func itemFailure(status: Int, message: String) -> DeliveryFailure {
        DeliveryFailure(
            kind: .status, statusCode: status, reason: "HTTP \(status): the tool rejected this event in a batch",
            responseExcerpt: String(message.prefix(OutcomeClassifier.excerptLimit)), retryable: false)
    }
}
