/// The webhook destination the transformation tests attach their transformation to: YAML lines
/// for a workspace's `destinations:` list (interpolate at the start of a line).
enum TransformedWebhook {
    static func destination(tools: String, transformation: String) -> String {
        """
          - id: webhook
            name: Webhook
            type: webhook
            config:
              url: \(tools)/webhook/events
              headers: {X-Signature: \(Credentials.webhookSecret)}
              delivery: {minBackoffSeconds: 1, maxBackoffSeconds: 2, maxAttempts: 3, timeoutSeconds: 5}
            transformation: \(transformation)
        """
    }
}
