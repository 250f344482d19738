import Destinations
import EventModel
import XCTest

final class PreviewTests: XCTestCase {
    func testCustomerIOPreviewMasksCredentials() {
        let output = DestinationPreview.render(
            type: "customerio", config: ["siteId": "site-123", "apiKey": "cio-secret-key"],
            event: ["type": "track", "event": "Signed Up", "userId": "u1", "properties": ["note": "cio-secret-key"]])
        let text = output.jsonString
        XCTAssertFalse(text.contains("cio-secret-key"), text)
        XCTAssertFalse(text.contains("c2l0ZS0xMjM6Y2lvLXNlY3JldC1rZXk="), text)
        XCTAssertEqual(output[path: "requests"]?[0]?[path: "headers", "Authorization"], "Basic ****")
        XCTAssertEqual(output[path: "requests"]?[0]?["url"], "https://track.customer.io/api/v1/customers/u1/events")
    }

    func testGA4PreviewMasksTheAPISecretInTheURL() {
        let output = DestinationPreview.render(
            type: "ga4", config: ["measurementId": "G-XYZ", "apiSecret": "s3cr3t/+"],
            event: ["type": "page", "anonymousId": "c1", "properties": ["url": "https://example.com"]])
        let text = output.jsonString
        XCTAssertFalse(text.contains("s3cr3t"), text)
        XCTAssertEqual(
            output[path: "requests"]?[0]?["url"],
            "https://www.google-analytics.com/mp/collect?measurement_id=G-XYZ&api_secret=****")
    }

    func testWebhookPreviewMasksConfiguredHeaderValues() {
        let output = DestinationPreview.render(
            type: "webhook",
            config: ["webhookUrl": "https://h.example.com", "headers": [["from": "X-Token", "to": "tok-123"]]],
            event: ["type": "track", "event": "A", "userId": "u"])
        XCTAssertFalse(output.jsonString.contains("tok-123"))
        XCTAssertEqual(output[path: "requests"]?[0]?[path: "headers", "Content-Type"], "application/json")
    }

    func testPreviewReportsDropsAbortsAndConfigErrorsWithoutValues() {
        let ga4: JSON = ["measurementId": "G-1", "apiSecret": "x-secret"]
        XCTAssertNotNil(DestinationPreview.render(type: "ga4", config: ga4, event: ["type": "identify", "anonymousId": "c"])["drop"])
        XCTAssertNotNil(DestinationPreview.render(type: "ga4", config: ga4, event: ["type": "alias", "anonymousId": "c"])["abort"])
        let bad = DestinationPreview.render(type: "customerio", config: ["siteId": 5, "apiKey": "k"], event: ["type": "track"])
        XCTAssertEqual(bad["error"], "invalid config: siteId: must be a string")
        XCTAssertEqual(DestinationPreview.render(type: "nope", config: [:], event: [:])["error"], "unknown destination type nope")
    }
}
