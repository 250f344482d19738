import Foundation

/// The example workspace of docs/configuration.md.
let exampleWorkspace = """
    workspace: acme
    sources:
      - id: web
        name: Marketing site
        writeKey: 2bX9localdevkey
    destinations:
      - id: hook
        name: Webhook
        type: webhook
        config: { url: "http://127.0.0.1:9999/hook", method: POST, headers: { X-Token: "${HOOK_TOKEN}" } }
        transformation: drop-internal
    connections:
      - { source: web, destinations: [hook] }
    transformations:
      - id: drop-internal
        code: |
          import { rudderEmail } from 'isRudderEmail';
          export function transformEvent(event, metadata) {
            return rudderEmail(event.context?.traits?.email ?? '') ? null : event;
          }
    libraries:
      - name: isRudderEmail
        code: |
          export function rudderEmail(email) { return /@(rudderlabs|rudderstack)|\\+ruddertest/.test(email); }
    """
