import Glibc
import Testing

@testable import Arbiter

/// A fresh directory under /tmp for one test, removed with everything in it when the test ends.
///
/// Every test gets its own, so tests run in parallel without seeing each other's records.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    var template = Array("/tmp/lockstep-arbiter-test-XXXXXX".utf8CString)
    let path = try template.withUnsafeMutableBufferPointer { buffer -> String in
        guard let created = mkdtemp(buffer.baseAddress!) else {
            throw TestSetupError("mkdtemp failed with errno \(errno)")
        }
        return String(cString: created)
    }
    defer { removeTree(path) }
    return try body(path)
}

/// Removes a file or a directory tree, restoring permissions a test took away; best effort, for cleanup only.
func removeTree(_ path: String) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    if (status.st_mode & S_IFMT) == S_IFDIR {
        chmod(path, 0o700)
        if let stream = opendir(path) {
            var names: [String] = []
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(stream)
            for name in names { removeTree(path + "/" + name) }
        }
        rmdir(path)
    } else {
        unlink(path)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes `bytes` to `path`, replacing what was there; how tests plant corrupt or foreign files.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw TestSetupError("open \(path) failed with errno \(errno)") }
    defer { close(descriptor) }
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw TestSetupError("write \(path) wrote \(written) bytes") }
}

func readFile(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw TestSetupError("open \(path) failed with errno \(errno)") }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw TestSetupError("read \(path) failed with errno \(errno)") }
        if count == 0 { return bytes }
        bytes += chunk[..<count]
    }
}

/// Names in a directory, sorted, without `.` and `..`.
func directoryNames(_ path: String) -> [String] {
    guard let stream = opendir(path) else { return [] }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

func nowMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// Permission bits stop nobody when tests run as root, so real chmod tests only run for other users.
let isRoot = geteuid() == 0

extension Claim {
    static func node(_ name: String) -> Claim {
        Claim(nodeName: name, channelAddress: "10.0.0.\(name.count):7000", clientAddress: "10.0.0.\(name.count):6379")
    }
}

extension TakeResult {
    var grantedRecord: EpochRecord? {
        if case .granted(let record) = self { return record }
        return nil
    }

    var winner: EpochRecord? {
        if case .lost(let record) = self { return record }
        return nil
    }
}
