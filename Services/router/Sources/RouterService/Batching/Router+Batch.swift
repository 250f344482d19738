extension Router {
    /// Sends a `.sendBatch` as one request, then reports one result per job to the scheduler.
    func sendBatch(_ jobs: [ScheduledJob]) async {
        let results: [AttemptResult]
        if let type = jobs.first?.job.destinationType, let spec = batching.specs(type) {
            results = await BatchDelivery(deliverer: deliverer, spec: spec).deliver(jobs, timeout: jobs[0].timeout)
        } else {
            results = await BatchDelivery.sendAloneWithoutSpec(jobs, deliverer: deliverer)
        }
        metrics.counter("keel_router_batch_requests_total", [("destination_id", jobs.first?.job.destinationId ?? "")]).increment()
        metrics.counter("keel_router_batched_jobs_total", [("destination_id", jobs.first?.job.destinationId ?? "")]).increment(by: jobs.count)
        var anyFailed = false
        let nowMillis = unixMillis()
        for (job, result) in zip(jobs, results) {
            let destinationMetrics = metrics.destination(job.job)
            switch result {
            case .delivered(let status):
                destinationMetrics.delivered(status: status, receivedAtMillis: job.job.receivedAtMillis, nowMillis: nowMillis)
                parkedJobDelivered(job)
            case .failed(let failure):
                anyFailed = true
                destinationMetrics.attempt(status: failure.statusCode.map { "\($0)" } ?? failure.kind.rawValue)
            }
        }
        let jitter = anyFailed ? Double.random(in: 0...1) : 0
        let actions = scheduler.withLock { $0.completedBatch(jobs, results: results, now: .now, jitter: jitter) }
        inFlight.add(-1, ordering: .relaxed)
        handle(actions)
        signalRoomIfWaiting()
    }
}

extension BatchDelivery {
    /// Without a spec (the type lost its batching between scheduling and sending), each job alone.
    static func sendAloneWithoutSpec(_ jobs: [ScheduledJob], deliverer: HTTPDeliverer) async -> [AttemptResult] {
        var results: [AttemptResult] = []
        for job in jobs { results.append(await deliverer.deliver(job, timeout: job.timeout)) }
        return results
    }
}
