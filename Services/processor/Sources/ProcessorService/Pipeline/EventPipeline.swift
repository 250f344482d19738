import Destinations
import EventModel
import KafkaTransport

/// An event that passed parsing and deduplication, with its timestamp corrected.
public struct InputEvent: Sendable {
    public var workspaceId: String
    public var sourceId: String
    public var messageId: String
    public var messageType: MessageType
    public var event: JSON
    /// The event's text as received, while it is exactly what serialising ``event`` writes: a
    /// body that is the unchanged event is copied from it (``JSONText``).
    public var eventText: JSONText?

    public init(
        workspaceId: String, sourceId: String, messageId: String, messageType: MessageType, event: JSON,
        eventText: JSONText? = nil
    ) {
        self.workspaceId = workspaceId
        self.sourceId = sourceId
        self.messageId = messageId
        self.messageType = messageType
        self.event = event
        self.eventText = eventText
    }
}

/// What a batch of events becomes: messages to produce, errors to record, counts.
public struct PipelineOutput: Sendable {
    public var messages: [OutgoingMessage] = []
    public var errors: [ProcessingError] = []
    public var counts = PipelineCounts()

    public init() {}

    /// Appends `other`'s messages and errors after these and adds its counts.
    public mutating func append(_ other: PipelineOutput) {
        messages.append(contentsOf: other.messages)
        errors.append(contentsOf: other.errors)
        counts.add(other.counts)
    }
}

/// Stages 3–4 for a batch of events: per connected destination, the integrations filter, message
/// types and allow/deny list, consent, the user transformation (batched per destination), and the
/// destination transformation into delivery jobs or batch rows.
///
/// Pure apart from the user transformer: the same input gives the same messages, in input order
/// per destination (so per Kafka key).
public struct EventPipeline: Sendable {
    public let topics: Topics
    public let transformer: any UserTransformer

    public init(topics: Topics, transformer: any UserTransformer) {
        self.topics = topics
        self.transformer = transformer
    }

    public func run(_ events: [InputEvent], routing: RoutingTable?, into output: inout PipelineOutput) async {
        // Events waiting for a user transformation, per destination id, in input order.
        var pending: [String: (destination: RoutedDestination, inputs: [InputEvent])] = [:]
        var pendingOrder: [String] = []

        for input in events {
            guard let routing, routing.workspaceId == input.workspaceId else {
                output.errors.append(error(.routing, "workspace is not served by this processor", input, nil))
                output.counts.errors[.routing, default: 0] += 1
                continue
            }
            let integrations = input.event["integrations"]
            let eventName = input.event.eventName
            for destination in routing.destinations(forSource: input.sourceId) {
                guard IntegrationsFilter.allows(integrations, keys: destination.integrationKeys) else {
                    output.counts.filtered[.integrations, default: 0] += 1
                    continue
                }
                if let definition = destination.definition {
                    switch EventFilterStage.check(
                        messageType: input.messageType, eventName: eventName,
                        supported: definition.supportedMessageTypes, filter: destination.eventFilter)
                    {
                    case .pass: break
                    case .unsupportedMessageType:
                        output.counts.filtered[.messageType, default: 0] += 1
                        continue
                    case .notAllowed, .denied:
                        output.counts.filtered[.eventFilter, default: 0] += 1
                        continue
                    }
                }
                guard ConsentFilter.allows(input.event, categories: destination.consentCategories) else {
                    output.counts.filtered[.consent, default: 0] += 1
                    continue
                }
                if destination.transformationId != nil {
                    if pending[destination.id] == nil {
                        pending[destination.id] = (destination, [])
                        pendingOrder.append(destination.id)
                    }
                    pending[destination.id]!.inputs.append(input)
                    continue
                }
                map(input, input.event, for: destination, into: &output)
            }
        }

        for id in pendingOrder {
            guard let (destination, inputs) = pending[id], let transformationId = destination.transformationId else { continue }
            let requests = inputs.map {
                UserTransformationInput(
                    event: $0.event, workspaceId: $0.workspaceId, sourceId: $0.sourceId, destinationId: destination.id,
                    destinationType: destination.type, messageId: $0.messageId)
            }
            let results = await transformer.transform(requests, transformationId: transformationId)
            for (index, input) in inputs.enumerated() {
                let result = index < results.count ? results[index] : .failure("transformation returned too few results")
                switch result {
                case .failure(let reason):
                    output.errors.append(error(.userTransformation, reason, input, destination.id))
                    output.counts.errors[.userTransformation, default: 0] += 1
                case .events(let transformed):
                    if transformed.isEmpty { output.counts.filtered[.transformation, default: 0] += 1 }
                    for event in transformed { map(input, event, for: destination, into: &output) }
                }
            }
        }
    }

    /// Stage 3e and 4: the destination transformation, and the message to produce.
    private func map(_ input: InputEvent, _ event: JSON, for destination: RoutedDestination, into output: inout PipelineOutput) {
        let mapper: any EventMapper
        switch destination.mapper {
        case .success(let built): mapper = built
        case .failure(let failure):
            output.errors.append(error(.destinationConfig, failure.reason, input, destination.id))
            output.counts.errors[.destinationConfig, default: 0] += 1
            return
        }
        guard let definition = destination.definition else { return }
        let key = Array(MessageKey.deliver(destinationId: destination.id, event: event).utf8)
        let outcome = definition.transform(event, with: mapper)
        switch outcome {
        case .requests, .plan:
            var requests: [DestinationRequest] = []
            var plan: DeliveryPlan?
            switch outcome {
            case .requests(let mapped): requests = mapped
            case .plan(let mapped): plan = mapped
            default: break
            }
            let job = DeliveryJob(
                workspaceId: input.workspaceId, sourceId: input.sourceId, destinationId: destination.id,
                destinationType: destination.type, messageId: input.messageId, userKey: event.userKey,
                eventType: event["type"]?.stringValue ?? input.messageType.rawValue,
                eventName: event.eventName ?? event["name"]?.stringValue ?? "",
                receivedAt: event["receivedAt"]?.stringValue ?? "", requests: requests, plan: plan)
            output.messages.append(
                OutgoingMessage(topic: topics.deliver(destinationType: destination.type), key: key, value: job.serialized(reusing: input.eventText)))
            output.counts.jobs[destination.type, default: 0] += 1
        case .batchRow(let rowEvent):
            let row = BatchRow(
                workspaceId: input.workspaceId, sourceId: input.sourceId, destinationId: destination.id,
                destinationType: destination.type, messageId: input.messageId,
                receivedAt: rowEvent["receivedAt"]?.stringValue ?? "",
                eventType: rowEvent["type"]?.stringValue ?? input.messageType.rawValue, event: rowEvent)
            output.messages.append(OutgoingMessage(topic: topics.batch, key: key, value: row.serialized()))
            output.counts.batchRows += 1
        case .drop:
            output.counts.filtered[.mapping, default: 0] += 1
        case .abort(let reason):
            output.errors.append(error(.destinationTransformation, reason, input, destination.id))
            output.counts.errors[.destinationTransformation, default: 0] += 1
        }
    }

    private func error(_ stage: ProcessingError.Stage, _ reason: String, _ input: InputEvent, _ destinationId: String?)
        -> ProcessingError
    {
        ProcessingError(
            stage: stage, reason: reason, workspaceId: input.workspaceId, sourceId: input.sourceId,
            destinationId: destinationId, messageId: input.messageId, payload: input.event)
    }
}
