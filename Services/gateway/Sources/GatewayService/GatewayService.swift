// GatewayService: the HTTP ingestion service. See docs/gateway.md.
