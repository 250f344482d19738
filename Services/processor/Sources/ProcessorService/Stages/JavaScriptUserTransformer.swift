import EventModel
import Transformations
import WorkspaceConfig

/// ``UserTransformer`` on Keel's in-process SpiderMonkey engine (module `Transformations`): looks
/// the transformation, the workspace's libraries and its fetch allow list
/// (`settings.transformations.fetchAllowedHosts`) up in the current workspace, so a change to any
/// of them applies to the next batch without a restart.
public struct JavaScriptUserTransformer: UserTransformer {
    private let engine: TransformationEngine
    private let workspace: @Sendable () -> Workspace?

    public init(engine: TransformationEngine, configStore: ConfigStore) {
        self.engine = engine
        self.workspace = { [configStore] in configStore.current }
    }

    public func transform(
        _ events: [UserTransformationInput], transformationId: String
    ) async -> [UserTransformationResult] {
        guard let workspace = workspace(),
            let transformation = workspace.transformations.first(where: { $0.id == transformationId })
        else {
            return Array(repeating: .failure("transformation \(transformationId) not found"), count: events.count)
        }
        let inputs = events.map { event in
            TransformInput(
                event: event.event.serialized(),
                metadata: TransformMetadata(
                    sourceId: event.sourceId, destinationId: event.destinationId,
                    destinationType: event.destinationType, messageId: event.messageId, workspaceId: event.workspaceId))
        }
        let outcomes = await engine.transform(
            inputs, transformation: TransformationCode(id: transformation.id, code: transformation.code),
            libraries: workspace.libraries.map { LibraryCode(name: $0.name, code: $0.code) },
            allowedFetchHosts: workspace.settings.transformations.fetchAllowedHosts)
        return outcomes.map { outcome in
            switch outcome.result {
            case .dropped:
                return .events([])
            case .failed(let error):
                return .failure(error.description)
            case .events(let outputs):
                do {
                    return .events(try outputs.map { try JSON(parsing: $0) })
                } catch {
                    return .failure("the transformation's output is not valid JSON")
                }
            }
        }
    }
}
