import XCTest

/// The destination catalog's golden fixtures (Fixtures/<type>/), run like the first three types'.
extension FixtureTests {
    func testAmplitudeFixtures() throws { try runFixtures(type: "amplitude") }
}

extension FixtureTests {
    func testMixpanelFixtures() throws { try runFixtures(type: "mixpanel") }
}

extension FixtureTests {
    func testHubSpotFixtures() throws { try runFixtures(type: "hubspot") }
}

extension FixtureTests {
    func testBrazeFixtures() throws { try runFixtures(type: "braze") }
}

extension FixtureTests {
    func testSlackFixtures() throws { try runFixtures(type: "slack") }
}

extension FixtureTests {
    func testIntercomFixtures() throws { try runFixtures(type: "intercom") }
}

extension FixtureTests {
    func testSalesforceFixtures() throws { try runFixtures(type: "salesforce") }
}
