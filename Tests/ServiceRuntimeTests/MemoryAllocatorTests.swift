import XCTest

@testable import ServiceRuntime

final class MemoryAllocatorTests: XCTestCase {
    /// Package.swift links jemalloc into every executable and the test bundle; if a build change
    /// let the C library's malloc win the symbol lookup again, this process would show it.
    func testTheProcessRunsOnJemalloc() throws {
        let version = try XCTUnwrap(MemoryAllocator.jemallocVersion, "malloc is not jemalloc's: \(MemoryAllocator.description)")
        XCTAssertTrue(version.hasPrefix("5."), version)
        XCTAssertEqual(MemoryAllocator.description, "jemalloc \(version)")

        // And jemalloc really serves this process's allocations: its count of allocated bytes
        // grows by about what is allocated.
        let before = try XCTUnwrap(Jemalloc.statistics(["stats.allocated"])?.first)
        let block = UnsafeMutableRawPointer.allocate(byteCount: 64 << 20, alignment: 16)
        defer { block.deallocate() }
        let after = try XCTUnwrap(Jemalloc.statistics(["stats.allocated"])?.first)
        XCTAssertGreaterThanOrEqual(after - before, 60 << 20)
    }
}
