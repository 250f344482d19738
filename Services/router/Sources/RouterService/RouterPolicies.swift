import WorkspaceConfig

extension DeliveryPolicy {
    /// Policies from the workspace configuration: the type's defaults with the destination's
    /// `delivery` overrides. Reads the store's current snapshot, so a reload applies to the next batch.
    public static func provider(from store: ConfigStore) -> DeliveryPolicyProvider {
        { destinationId, destinationType in
            let destination = store.snapshot?.destination(id: destinationId)
            let type = destination?.type ?? destinationType
            return DeliveryPolicy.defaults(forType: type).applying(config: destination?.config)
        }
    }
}
