extension DestinationRegistry {
    /// How requests of destinations of `type` combine into batch requests, `nil` for types whose
    /// API has no batch endpoint (or whose batching is not built): their jobs are always sent alone.
    public func batchSpec(forType type: String) -> BatchSpec? {
        switch type {
        case "amplitude": AmplitudeMapping.batchSpec
        case "braze": BrazeMapping.batchSpec
        case "customerio": CustomerIOMapping.batchSpec
        case "hubspot": HubSpotMapping.batchSpec
        case "mixpanel": MixpanelMapping.batchSpec
        default: nil
        }
    }
}
