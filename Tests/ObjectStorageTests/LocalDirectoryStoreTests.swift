import Foundation
import XCTest

@testable import ObjectStorage

final class LocalDirectoryStoreTests: XCTestCase {
    func testPutGetListAndOverwrite() async throws {
        let root = NSTemporaryDirectory() + "keel-store-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = LocalDirectoryStore(root: root)
        try await store.put(key: "p/web/2026-11-29/1.a.json.gz", body: [1, 2, 3], contentType: "application/gzip")
        try await store.put(key: "p/web/2026-11-29/2.b.json.gz", body: [4], contentType: "application/gzip")
        try await store.put(key: "q/other.json.gz", body: [5], contentType: "application/gzip")
        let listed = try await store.list(prefix: "p/")
        XCTAssertEqual(listed, ["p/web/2026-11-29/1.a.json.gz", "p/web/2026-11-29/2.b.json.gz"])
        try await store.put(key: "p/web/2026-11-29/1.a.json.gz", body: [9, 9], contentType: "application/gzip")
        let read = try await store.get(key: "p/web/2026-11-29/1.a.json.gz")
        XCTAssertEqual(read, [9, 9])
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: root).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "no temporary file is left behind")
    }

    func testMissingObjectAndUnsafeKeys() async {
        let store = LocalDirectoryStore(root: NSTemporaryDirectory() + "keel-store-missing")
        do {
            _ = try await store.get(key: "nope")
            XCTFail("expected notFound")
        } catch {
            XCTAssertEqual(error.code, .notFound)
        }
        for key in ["../escape", "/abs", "a//b", ""] {
            do {
                try await store.put(key: key, body: [1], contentType: "x")
                XCTFail("\(key) must be rejected")
            } catch {
                XCTAssertEqual(error.code, .rejected)
            }
        }
    }
}
