import EventModel
import WorkspaceConfig

extension DestinationRegistry {
    /// The registry's configuration checks in WorkspaceConfig's form, for `keel apply` and the
    /// workspace parser: a config is valid exactly when its mapping can be built from it. Batch
    /// types keep WorkspaceConfig's built-in checks (the batch-router owns their settings).
    public var configValidators: DestinationConfigValidators {
        var validators = DestinationConfigValidators.builtIn
        for definition in definitions where definition.kind == .stream {
            let makeMapper = definition.makeMapper
            validators.register(definition.type) { config, issues in
                do throws(DestinationConfigError) {
                    _ = try makeMapper(.object(config))
                } catch {
                    issues.add(error.key, error.reason)
                }
            }
        }
        return validators
    }
}
