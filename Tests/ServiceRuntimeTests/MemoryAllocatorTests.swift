import ServiceRuntime
import XCTest

final class MemoryAllocatorTests: XCTestCase {
    /// Package.swift links jemalloc into every executable and the test bundle; if a build change
    /// let the C library's malloc win the symbol lookup again, this process would show it.
    func testTheProcessRunsOnJemalloc() throws {
        let version = try XCTUnwrap(MemoryAllocator.jemallocVersion, "malloc is not jemalloc's: \(MemoryAllocator.description)")
        XCTAssertTrue(version.hasPrefix("5."), version)
        XCTAssertEqual(MemoryAllocator.description, "jemalloc \(version)")

        // And jemalloc really serves this process's allocations: its counter of allocated bytes
        // grows by about what is allocated (stats are refreshed through the `epoch` control).
        let before = try Self.allocatedBytes()
        let block = UnsafeMutableRawPointer.allocate(byteCount: 64 << 20, alignment: 16)
        defer { block.deallocate() }
        let after = try Self.allocatedBytes()
        XCTAssertGreaterThanOrEqual(after - before, 60 << 20)
    }

    private typealias Mallctl = @convention(c) (
        UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?, UnsafeMutableRawPointer?, Int
    ) -> Int32

    private static func allocatedBytes() throws -> Int {
        let mallctl = unsafeBitCast(try XCTUnwrap(dlsym(nil, "mallctl")), to: Mallctl.self)
        var epoch: UInt64 = 1
        var epochSize = MemoryLayout<UInt64>.size
        _ = withUnsafeMutablePointer(to: &epoch) { mallctl("epoch", $0, &epochSize, $0, epochSize) }
        var allocated = 0
        var size = MemoryLayout<Int>.size
        XCTAssertEqual(withUnsafeMutablePointer(to: &allocated) { mallctl("stats.allocated", $0, &size, nil, 0) }, 0)
        return allocated
    }
}
