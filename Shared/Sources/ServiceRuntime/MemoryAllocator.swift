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
        guard let mallctlSymbol = dlsym(library, "mallctl"), let ownMalloc = dlsym(library, "malloc"),
            ownMalloc == dlsym(defaultScope, "malloc")
        else { return nil }

        typealias Mallctl = @convention(c) (
            UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?, UnsafeMutableRawPointer?, Int
        ) -> Int32
        let mallctl = unsafeBitCast(mallctlSymbol, to: Mallctl.self)
        var version: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        let status = withUnsafeMutablePointer(to: &version) { mallctl("version", $0, &size, nil, 0) }
        guard status == 0, let version else { return "(unknown version)" }
        return String(cString: version)
    }

    /// `RTLD_DEFAULT`: the process's global symbol lookup.
    private static var defaultScope: UnsafeMutableRawPointer? {
        #if canImport(Darwin)
        UnsafeMutableRawPointer(bitPattern: -2)
        #else
        nil
        #endif
    }
}
