#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `malloc` this process runs on. Keel's executables link jemalloc (Package.swift); this
/// says whether it won the symbol lookup over the C library's, so a start-up log line shows it
/// and a test fails if a build change loses it.
public enum MemoryAllocator {
    /// `"jemalloc <version>"`, or `"system malloc"` when jemalloc is not the process's `malloc`.
    public static var description: String {
        guard let version = jemallocVersion else { return "system malloc" }
        return "jemalloc \(version)"
    }

    /// jemalloc's version when it serves this process's `malloc`, else `nil`.
    public static var jemallocVersion: String? {
        // Loaded (by the link, or a preload) and serving `malloc`: its `malloc` is the one the
        // process resolves. A copy loaded late, e.g. by a plugin, would not be.
        guard let library = dlopen("libjemalloc.so.2", RTLD_LAZY | RTLD_NOLOAD) else { return nil }
        defer { dlclose(library) }
        guard let ownMalloc = dlsym(library, "malloc"), ownMalloc == dlsym(Jemalloc.defaultScope, "malloc"),
            let mallctl = Jemalloc.mallctl
        else { return nil }
        var version: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        let status = withUnsafeMutablePointer(to: &version) { mallctl("version", $0, &size, nil, 0) }
        guard status == 0, let version else { return "(unknown version)" }
        return String(cString: version)
    }
}

/// jemalloc's control interface, `mallctl`, when jemalloc is loaded.
enum Jemalloc {
    typealias Mallctl = @convention(c) (
        UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?, UnsafeMutableRawPointer?, Int
    ) -> Int32

    static var mallctl: Mallctl? {
        dlsym(defaultScope, "mallctl").map { unsafeBitCast($0, to: Mallctl.self) }
    }

    /// The `size_t` statistics `names` (e.g. `stats.allocated`), as of now; `nil` when jemalloc
    /// is not loaded or a name is unknown.
    static func statistics(_ names: [String]) -> [Int]? {
        guard let mallctl else { return nil }
        // Statistics are a snapshot, taken when the epoch advances.
        var epoch: UInt64 = 1
        var epochSize = MemoryLayout<UInt64>.size
        _ = withUnsafeMutablePointer(to: &epoch) { mallctl("epoch", $0, &epochSize, $0, epochSize) }
        var values: [Int] = []
        for name in names {
            var value = 0
            var size = MemoryLayout<Int>.size
            guard withUnsafeMutablePointer(to: &value, { mallctl(name, $0, &size, nil, 0) }) == 0 else { return nil }
            values.append(value)
        }
        return values
    }

    /// `RTLD_DEFAULT`: the process's global symbol lookup.
    static var defaultScope: UnsafeMutableRawPointer? {
        #if canImport(Darwin)
        UnsafeMutableRawPointer(bitPattern: -2)
        #else
        nil
        #endif
    }
}
