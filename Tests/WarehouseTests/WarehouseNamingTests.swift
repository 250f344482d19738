import XCTest

@testable import Warehouse

final class WarehouseNamingTests: XCTestCase {
    let naming = WarehouseNaming()

    func testIdentifiers() {
        XCTAssertEqual(naming.identifier("Order Completed"), "order_completed")
        XCTAssertEqual(naming.identifier("firstName"), "first_name")
        XCTAssertEqual(naming.identifier("HTTPStatus"), "http_status")
        XCTAssertEqual(naming.identifier("$ref--Value"), "ref_value")
        XCTAssertEqual(naming.identifier("1st purchase"), "_1st_purchase")
        XCTAssertEqual(naming.identifier("select"), "_select")
        XCTAssertEqual(naming.identifier("!!!"), "_")
        XCTAssertEqual(naming.identifier("user_id"), "user_id")
        XCTAssertEqual(naming.identifier(String(repeating: "a", count: 100)).count, 63)
    }

    func testEventTablesAvoidKeelTables() {
        XCTAssertEqual(naming.eventTable("Tracks"), "_tracks")
        XCTAssertEqual(naming.eventTable("Product Viewed"), "product_viewed")
    }
}
