import Destinations
import EventModel
import XCTest

/// Secrets of the catalog's destinations never show in previews.
final class CatalogPreviewTests: XCTestCase {
    func testAmplitudePreviewMasksTheAPIKeyInJSONAndFormBodies() {
        let event: JSON = ["type": "group", "groupId": "g-1", "userId": "user-42", "traits": ["name": "Acme"]]
        let preview = DestinationPreview.render(type: "amplitude", config: ["apiKey": "amp-secret-key"], event: event).jsonString
        XCTAssertFalse(preview.contains("amp-secret-key"), preview)
        XCTAssertTrue(preview.contains("\"api_key\":\"****\""), preview)
        XCTAssertTrue(preview.contains("\"bodyFormat\":\"form\""), preview)
    }

    func testSlackPreviewMasksTheWebhookURL() {
        let url = "https://hooks.slack.com/services/T000/B000/XXXX"
        let preview = DestinationPreview.render(
            type: "slack", config: ["webhookUrl": .string(url)], event: ["type": "track", "event": "Clicked", "userId": "user-42"]
        ).jsonString
        XCTAssertFalse(preview.contains("B000/XXXX"), preview)
    }

    func testSlackPreviewMasksChannelRuleWebhookURLs() {
        let rule: JSON = ["event": "Order Completed", "webhookUrl": "https://hooks.slack.com/services/T000/B111/SALESHOOK"]
        let preview = DestinationPreview.render(
            type: "slack",
            config: ["webhookUrl": "https://hooks.slack.com/services/T000/B000/MAINHOOK", "channelRules": [rule]],
            event: ["type": "track", "event": "Order Completed", "userId": "user-42"]
        ).jsonString
        XCTAssertTrue(preview.contains("requests"), preview)
        XCTAssertFalse(preview.contains("SALESHOOK"), "the rule's webhook URL is a secret too: \(preview)")
    }

    func testBearerTokensAreMasked() {
        let event: JSON = ["type": "track", "event": "Clicked", "userId": "user-42"]
        let braze = DestinationPreview.render(
            type: "braze", config: ["restApiKey": "braze-secret", "dataCenter": "US-03"], event: event
        ).jsonString
        XCTAssertFalse(braze.contains("braze-secret"), braze)
        XCTAssertTrue(braze.contains("Bearer ****"), braze)
    }
}
