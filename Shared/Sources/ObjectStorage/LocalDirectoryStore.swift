import Foundation

/// Objects as files under a root directory: the embedded default for local runs.
///
/// A put writes a temporary file, fsyncs it and renames it into place, so a reader never sees a
/// partial object and a crash leaves either the old or the new file.
public struct LocalDirectoryStore: ObjectStore {
    public let root: String

    public init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    public func location(of key: String) -> String { "file://\(path(of: key))" }

    func path(of key: String) -> String { "\(root)/\(key)" }

    func checked(_ key: String) throws(ObjectStorageError) -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.hasPrefix("/"), !parts.contains(".."), !parts.contains("") else {
            throw ObjectStorageError(.rejected, "key \(key) is not a relative path")
        }
        return path(of: key)
    }

    public func put(key: String, body: [UInt8], contentType: String) async throws(ObjectStorageError) {
        let target = try checked(key)
        let directory = (target as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.\((target as NSString).lastPathComponent).\(getpid()).tmp"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ObjectStorageError(.fileSystem, "put \(key): cannot create \(directory)")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ObjectStorageError(.fileSystem, "put \(key): open failed (errno \(errno))") }
        var written = 0
        let ok = body.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let count = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 { if errno == EINTR { continue }; return false }
                written += count
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw ObjectStorageError(.fileSystem, "put \(key): write failed (errno \(errno))")
        }
    }

    public func get(key: String) async throws(ObjectStorageError) -> [UInt8] {
        let target = try checked(key)
        guard let data = FileManager.default.contents(atPath: target) else {
            throw ObjectStorageError(.notFound, "get \(key)")
        }
        return Array(data)
    }

    public func list(prefix: String) async throws(ObjectStorageError) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var keys: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard !name.hasPrefix("."), relative.hasPrefix(prefix) else { continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path(of: relative), isDirectory: &isDirectory), !isDirectory.boolValue {
                keys.append(relative)
            }
        }
        return keys.sorted()
    }
}
