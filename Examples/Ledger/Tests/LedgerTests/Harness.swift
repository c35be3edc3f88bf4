import Glibc

/// A failure of the harness itself (no binary, a node that never came up), with what the test saw.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The few things the kill test needs from the machine: binaries, ports, scratch space and patient waiting.
enum Harness {
    /// The `ledger-server` SwiftPM built next to this test executable (the test target depends on it).
    static func ledgerServerPath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw HarnessError("cannot read /proc/self/exe") }
        var directory = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // On Linux the test bundle is an executable in the build directory; climb out should it be a directory.
        repeat {
            directory = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
        } while directory.hasSuffix(".xctest")
        let path = directory + "/ledger-server"
        guard access(path, X_OK) == 0 else {
            throw HarnessError("no ledger-server at \(path); build it with `swift build --build-tests`")
        }
        return path
    }

    /// `count` distinct loopback ports that nothing listens on now, checked by binding each one.
    ///
    /// Candidates lie below Linux's ephemeral range (32768 up), so an outgoing connection cannot take one between
    /// this check and the node's own bind; another test process still could, and then the node fails to start
    /// with EADDRINUSE in its log.
    static func freePorts(_ count: Int) throws -> [UInt16] {
        var ports: [UInt16] = []
        for _ in 0..<1_000 where ports.count < count {
            let candidate = UInt16.random(in: 20_000..<32_000)
            if !ports.contains(candidate), isFree(candidate) { ports.append(candidate) }
        }
        guard ports.count == count else { throw HarnessError("no \(count) free ports in 20000..<32000") }
        return ports
    }

    private static func isFree(_ port: UInt16) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in.loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A fresh directory under $TMPDIR (or /tmp).
    static func temporaryDirectory(_ label: String) throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/ledger-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed under \(base)") }
        return String(cString: made)
    }

    /// Removes a directory this test made: `rm -rf` by its path, waited for with a deadline.
    static func removeTree(_ path: String) {
        guard path.hasPrefix("/"), path.contains("/ledger-") else { return }
        // Best effort: a leftover temporary directory is harmless, so a failure here is not the test's.
        guard let remover = try? ChildProcess(executable: "/bin/rm", ["-rf", path]) else { return }
        remover.killAndReap(grace: .seconds(10))
    }

    /// A whole (small) file as text; empty when it cannot be read.
    static func readFile(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while bytes.count < 16 << 20 {  // logs of a short test are far smaller; the bound keeps a runaway log out
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Polls `condition` every 20 ms until it holds or `deadline` passes: whether it held.
    static func waitUntil(_ deadline: Duration, _ condition: () throws -> Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while true {
            if try condition() { return true }
            if clock.now >= end { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension sockaddr_in {
    /// 127.0.0.1:`port`: the kill test binds and connects nowhere else.
    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
