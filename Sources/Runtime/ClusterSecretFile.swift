import Glibc
import LogChannel
import Posix

/// The file a node reads its cluster secret from (`--cluster-secret-file`), and how `lockstep pair` makes one.
///
/// Policy, like ssh's for private keys: a file that group or others may read is refused, not merely warned about,
/// because a secret other local users can read authenticates them as the backup, and a warning scrolls past. The
/// bytes are used as they are (binary or text; a trailing newline is part of the secret, so both nodes must be given
/// the same file, byte for byte).
public enum ClusterSecretFile {
    /// Permission bits that refuse a secret file: any access for group or others.
    public static let forbiddenPermissions: mode_t = 0o077
    /// Bytes `create` writes: as many as the HMAC key, drawn from the system's random number generator.
    public static let generatedBytes = ClusterSecret.minimumBytes

    /// The secret in the file at `path`, checked: readable, mode 0600 or stricter, 32 to 4,096 bytes.
    public static func read(atPath path: String) throws(ClusterSecretFileError) -> [UInt8] {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, flags: O_RDONLY)
        } catch {
            throw .unreadable(path: path, error)
        }
        defer { try? file.close() }  // read-only: nothing to lose
        let mode: (permissions: mode_t, isRegularFile: Bool)
        do {
            mode = try file.fileMode()
        } catch {
            throw .unreadable(path: path, error)
        }
        guard mode.isRegularFile else { throw .notARegularFile(path: path) }
        guard mode.permissions & forbiddenPermissions == 0 else {
            throw .readableByOthers(path: path, permissions: Int(mode.permissions))
        }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 10, alignment: 1)
        defer { chunk.deallocate() }
        // One byte past the limit is enough to know the file is too long.
        while bytes.count <= ClusterSecret.maximumBytes {
            let count: Int?
            do {
                count = try file.read(into: chunk)
            } catch {
                throw .unreadable(path: path, error)
            }
            guard let count, count > 0 else { break }
            bytes.append(contentsOf: chunk.prefix(count))
        }
        do {
            _ = try ClusterSecret(bytes)
        } catch {
            throw .unusable(path: path, error)
        }
        return bytes
    }

    /// Writes `generatedBytes` random bytes to a new file at `path`, mode 0600; an existing file is left alone
    /// (returns false), so a pair restarted over its directory keeps its secret.
    @discardableResult
    public static func create(atPath path: String) throws(ClusterSecretFileError) -> Bool {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o600)
        } catch where error.errno == EEXIST {
            return false
        } catch {
            throw .cannotCreate(path: path, error)
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<generatedBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        do throws(SystemError) {
            // `withUnsafeBytes` rethrows untyped, so the write's error comes out as a value.
            let writeError: SystemError? = bytes.withUnsafeBytes { raw in
                do throws(SystemError) { try file.writeAll(raw) } catch { return error }
                return nil
            }
            if let writeError { throw writeError }
            try file.close()
        } catch {
            try? file.close()  // already failing; the write error is the one worth reporting
            _ = unlink(path)  // never leave a short secret behind
            throw .cannotCreate(path: path, error)
        }
        return true
    }
}

/// Why a cluster secret file cannot be used; the node does not start.
public enum ClusterSecretFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// It cannot be opened or read (missing, no permission).
    case unreadable(path: String, SystemError)
    /// It is a directory, a device or the like.
    case notARegularFile(path: String)
    /// Group or others may read it (`permissions` is its mode).
    case readableByOthers(path: String, permissions: Int)
    /// Its bytes cannot serve as a secret (too short, too long).
    case unusable(path: String, ClusterSecretError)
    /// `create` could not write it.
    case cannotCreate(path: String, SystemError)

    /// One sentence: what is wrong and what to do.
    public var description: String {
        switch self {
        case .unreadable(let path, let error):
            "cannot read the cluster secret file \(path): \(error)"
        case .notARegularFile(let path):
            "the cluster secret file \(path) is not a regular file"
        case .readableByOthers(let path, let permissions):
            "the cluster secret file \(path) has mode \(String(permissions, radix: 8)), readable by group or others; "
                + "run `chmod 600 \(path)` (anyone who can read it can pose as a node of the pair)"
        case .unusable(let path, let error):
            "the cluster secret file \(path) is unusable: \(error)"
        case .cannotCreate(let path, let error):
            "cannot create the cluster secret file \(path): \(error)"
        }
    }
}
