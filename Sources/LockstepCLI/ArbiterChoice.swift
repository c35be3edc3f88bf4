import Arbiter
import EtcdArbiter

/// Which arbiter an `--arbiter` value names: `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`, or a shared directory.
///
/// One place decides, so `node` and `arbiter show` can never read the same value two ways.
enum ArbiterChoice {
    /// The etcd location in `value`, `nil` for a directory; a malformed etcd value is a usage error (exit 2).
    static func etcdLocation(_ value: String) throws(CommandError) -> EtcdLocation? {
        guard EtcdLocation.isEtcd(value) else { return nil }
        do {
            return try EtcdLocation(parsing: value)
        } catch {
            throw .usage("--arbiter: \(error.description)")
        }
    }

    /// The arbiter a node runs with. A directory must exist (`NodeOptions.checkArbiterDirectory`); etcd is not
    /// contacted here: an unreachable etcd is an arbiter error each time the node asks, and nobody goes live on it.
    static func arbiter(for options: NodeOptions) throws(CommandError) -> any Arbiter {
        if let location = try etcdLocation(options.arbiterDirectory) { return EtcdArbiter(location: location) }
        try options.checkArbiterDirectory()
        return DirectoryArbiter(directory: options.arbiterDirectory)
    }
}
