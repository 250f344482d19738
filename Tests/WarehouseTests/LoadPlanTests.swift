import XCTest

@testable import Warehouse

final class LoadPlanTests: XCTestCase {
    func row(_ table: String, _ id: String, _ columns: [String: WarehouseValue]) -> WarehouseRow {
        WarehouseRow(table: table, id: id, columns: columns)
    }

    func testNewTableGetsColumnsFromFirstValuesAndIntWidensToDouble() {
        let plan = LoadPlan(rows: [
            row("order_completed", "1", ["id": .text("1"), "revenue": .int(10), "paid": .bool(true)]),
            row("order_completed", "2", ["id": .text("2"), "revenue": .double(9.5)]),
        ], existing: [:])
        let added = Dictionary(uniqueKeysWithValues: plan.newColumns["order_completed"]!.map { ($0.name, $0.type) })
        XCTAssertEqual(added, ["id": .text, "revenue": .double, "paid": .boolean])
        XCTAssertEqual(plan.rows["order_completed"]?.count, 2)
        XCTAssertEqual(plan.discards, [])
    }

    func testValueThatDoesNotFitGoesToDiscards() {
        let existing = ["tracks": TableSchema(columns: ["id": .text, "revenue": .bigint, "at": .timestamp])]
        let plan = LoadPlan(rows: [
            row("tracks", "1", ["id": .text("1"), "revenue": .text("lots"), "at": .text("yesterday")]),
            row("tracks", "2", ["id": .text("2"), "revenue": .double(3), "at": .text("2026-11-29T00:00:00Z")]),
        ], existing: existing)
        XCTAssertTrue(plan.newColumns["tracks"]?.isEmpty ?? true, "no new column")
        XCTAssertEqual(Set(plan.discards.map { "\($0.rowId).\($0.column)=\($0.value)" }), ["1.revenue=lots", "1.at=yesterday"])
        XCTAssertNil(plan.rows["tracks"]![0].columns["revenue"])
        XCTAssertEqual(plan.rows["tracks"]![1].columns["revenue"], .double(3), "an integral double fits a bigint column")
    }

    func testDuplicateIdsInABatchKeepTheLastAndUsersMerge() {
        let plan = LoadPlan(rows: [
            row("tracks", "1", ["id": .text("1"), "v": .int(1)]),
            row("tracks", "1", ["id": .text("1"), "v": .int(2)]),
            row("users", "u", ["id": .text("u"), "plan": .text("free"), "email": .text("a@b.c")]),
            row("users", "u", ["id": .text("u"), "plan": .text("pro")]),
        ], existing: [:])
        XCTAssertEqual(plan.rows["tracks"]!.map(\.columns["v"]), [.int(2)])
        XCTAssertEqual(plan.rows["users"]!.count, 1)
        XCTAssertEqual(plan.rows["users"]![0].columns["plan"], .text("pro"))
        XCTAssertEqual(plan.rows["users"]![0].columns["email"], .text("a@b.c"))
    }

    func testValueText() {
        XCTAssertEqual(WarehouseValue.text("2026-11-29T01:02:03+01:00").text(for: .timestamp), "2026-11-29T00:02:03.000Z")
        XCTAssertNil(WarehouseValue.text("x").text(for: .bigint))
        XCTAssertEqual(WarehouseValue.int(5).text(for: .text), "5")
    }
}
