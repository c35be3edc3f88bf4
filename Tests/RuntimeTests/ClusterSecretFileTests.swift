import Glibc
import Posix
import Runtime
import Testing

@Suite("cluster secret file")
struct ClusterSecretFileTests {
    /// A fresh path in a fresh directory; the directory is removed by `cleanUp`.
    static func freshPath() -> (directory: String, path: String) {
        var template = Array("/tmp/lockstep-secret-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return (directory, directory + "/cluster-secret")
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        chmod(path, mode)
    }

    static func cleanUp(_ directory: String, _ path: String) {
        unlink(path)
        rmdir(directory)
    }

    @Test("create writes 32 random bytes with mode 0600 once, and read returns them")
    func createThenRead() throws {
        let (directory, path) = Self.freshPath()
        defer { Self.cleanUp(directory, path) }
        #expect(try ClusterSecretFile.create(atPath: path))
        let secret = try ClusterSecretFile.read(atPath: path)
        #expect(secret.count == 32)
        var information = stat()
        stat(path, &information)
        #expect(information.st_mode & 0o777 == 0o600)
        // An existing secret is kept, so a restarted pair keeps pairing.
        #expect(try !ClusterSecretFile.create(atPath: path))
        #expect(try ClusterSecretFile.read(atPath: path) == secret)
    }

    @Test("a secret file readable by group or others is refused", arguments: [0o640, 0o604, 0o644] as [mode_t])
    func readableByOthersIsRefused(mode: mode_t) {
        let (directory, path) = Self.freshPath()
        defer { Self.cleanUp(directory, path) }
        Self.write([UInt8](repeating: 1, count: 32), to: path, mode: mode)
        #expect(throws: ClusterSecretFileError.readableByOthers(path: path, permissions: Int(mode))) {
            try ClusterSecretFile.read(atPath: path)
        }
    }

    @Test("a secret shorter than 32 bytes is refused, and a missing file too")
    func shortOrMissingIsRefused() {
        let (directory, path) = Self.freshPath()
        defer { Self.cleanUp(directory, path) }
        #expect(throws: ClusterSecretFileError.self) { try ClusterSecretFile.read(atPath: path) }
        Self.write([UInt8](repeating: 1, count: 31), to: path, mode: 0o600)
        #expect(throws: ClusterSecretFileError.unusable(path: path, .tooShort(bytes: 31, minimum: 32))) {
            try ClusterSecretFile.read(atPath: path)
        }
    }
}
