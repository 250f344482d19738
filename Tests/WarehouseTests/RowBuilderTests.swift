import EventModel
import XCTest

@testable import Warehouse

final class RowBuilderTests: XCTestCase {
    let builder = RowBuilder()
    let loadedAt: Int64 = 1_764_417_600_000

    func event(_ text: String) throws -> JSON { try JSON(parsing: text) }

    func testTrackGoesToTracksAndItsEventTable() throws {
        let rows = try builder.rows(for: try event("""
            {"type":"track","messageId":"m1","anonymousId":"a1","userId":42,"event":"Order Completed",
             "receivedAt":"2026-11-29T12:00:00.000Z","timestamp":"2026-11-29T11:59:59.500Z",
             "context":{"library":{"name":"analytics-python"},"traits":{"email":"x@y.z"}},
             "properties":{"revenue":12.5,"id":"not-the-message-id","items":[{"sku":"a"}],"shipping":{"method":"ups"}},
             "request_ip":"10.0.0.1"}
            """), loadedAt: loadedAt)
        XCTAssertEqual(rows.map(\.table), ["tracks", "order_completed"])
        let tracks = rows[0].columns
        XCTAssertEqual(tracks["id"], .text("m1"))
        XCTAssertEqual(tracks["user_id"], .text("42"))
        XCTAssertEqual(tracks["event"], .text("order_completed"))
        XCTAssertEqual(tracks["event_text"], .text("Order Completed"))
        XCTAssertEqual(tracks["context_library_name"], .text("analytics-python"))
        XCTAssertEqual(tracks["context_traits_email"], .text("x@y.z"))
        XCTAssertEqual(tracks["context_request_ip"], .text("10.0.0.1"))
        XCTAssertEqual(tracks["received_at"], .timestamp(1_795_953_600_000))
        XCTAssertEqual(tracks["timestamp"], .timestamp(1_795_953_599_500))
        XCTAssertEqual(tracks["uuid_ts"], .timestamp(loadedAt))
        XCTAssertNil(tracks["revenue"], "properties belong to the event table only")
        let order = rows[1].columns
        XCTAssertEqual(order["revenue"], .double(12.5))
        XCTAssertEqual(order["id"], .text("m1"), "a property cannot overwrite the merge key")
        XCTAssertEqual(order["items"], .text(#"[{"sku":"a"}]"#))
        XCTAssertEqual(order["shipping_method"], .text("ups"))
    }

    func testIdentifyFillsIdentifiesAndUsers() throws {
        let rows = try builder.rows(for: try event("""
            {"type":"identify","messageId":"m2","userId":"u1","traits":{"firstName":"Ada","plan":"pro","age":36},
             "context":{"traits":{"plan":"free","company":"Acme"}}}
            """), loadedAt: loadedAt)
        XCTAssertEqual(rows.map(\.table), ["identifies", "users"])
        XCTAssertEqual(rows[1].id, "u1")
        XCTAssertEqual(rows[1].columns["first_name"], .text("Ada"))
        XCTAssertEqual(rows[1].columns["plan"], .text("pro"), "top-level traits win over context traits")
        XCTAssertEqual(rows[1].columns["company"], .text("Acme"))
        XCTAssertEqual(rows[1].columns["age"], .int(36))
        XCTAssertEqual(rows[0].columns["context_traits_plan"], .text("free"))
    }

    func testAnonymousIdentifyHasNoUsersRow() throws {
        let rows = try builder.rows(for: try event(#"{"type":"identify","messageId":"m","anonymousId":"a","traits":{"x":1}}"#), loadedAt: 0)
        XCTAssertEqual(rows.map(\.table), ["identifies"])
    }

    func testPageScreenGroupAlias() throws {
        XCTAssertEqual(try builder.rows(for: try event(#"{"type":"page","messageId":"p","name":"Home","properties":{"path":"/"}}"#), loadedAt: 0)[0].columns["path"], .text("/"))
        XCTAssertEqual(try builder.rows(for: try event(#"{"type":"screen","messageId":"s","name":"Main"}"#), loadedAt: 0)[0].table, "screens")
        XCTAssertEqual(try builder.rows(for: try event(#"{"type":"group","messageId":"g","groupId":"acme","traits":{"size":10}}"#), loadedAt: 0)[0].columns["group_id"], .text("acme"))
        XCTAssertEqual(try builder.rows(for: try event(#"{"type":"alias","messageId":"al","previousId":"old","userId":"new"}"#), loadedAt: 0)[0].columns["previous_id"], .text("old"))
    }

    func testRejections() throws {
        XCTAssertThrowsError(try builder.rows(for: try event(#"{"type":"track","messageId":"m"}"#), loadedAt: 0))
        XCTAssertThrowsError(try builder.rows(for: try event(#"{"type":"track","event":"x"}"#), loadedAt: 0))
        XCTAssertThrowsError(try builder.rows(for: try event(#"{"type":"bogus","messageId":"m"}"#), loadedAt: 0))
    }
}
