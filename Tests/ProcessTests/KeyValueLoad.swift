import Glibc
@testable import LockstepCLI
import Posix
import Synchronization

/// A client on its own thread writing `SET <prefix>:<i> value:<i>` one at a time, recording every write the server
/// acknowledged with `+OK`: the writes that must survive a failover.
///
/// It stops at the first error or closed connection (the primary died under it), or when asked.
final class KeyValueLoad: Sendable {
    /// What the writer thread and the test share.
    private final class Shared: Sendable {
        let acked = Mutex<[(key: String, value: String)]>([])
        let isStopRequested = Atomic<Bool>(false)
        let ending = Mutex<String?>(nil)
    }

    private let shared = Shared()
    private let thread: PosixThread

    /// Writes keys `<prefix>:<i>`.
    init(against address: SocketAddress, prefix: String = "load") throws {
        let shared = self.shared
        thread = try PosixThread.spawn {
            let why: String
            do {
                let client = try RESPClient(address: address, timeout: .seconds(5))
                var index = 0
                while !shared.isStopRequested.load(ordering: .relaxed) {
                    let key = "\(prefix):\(index)", value = "value:\(index):\(String(repeating: "x", count: index % 64))"
                    let reply = try client.command(["SET", key, value])
                    guard reply == .simpleString("OK") else {
                        throw HarnessError("SET \(key) answered \(reply)")
                    }
                    shared.acked.withLock { $0.append((key, value)) }
                    index += 1
                }
                why = "stopped"
            } catch {
                why = "\(error)"
            }
            shared.ending.withLock { $0 = why }
        }
    }

    var ackedCount: Int { shared.acked.withLock { $0.count } }

    /// Why the writer ended (an error, or "stopped"); nil while it runs.
    var endReason: String? { shared.ending.withLock { $0 } }

    /// Stops the writer and returns every acknowledged write.
    func stop() -> [(key: String, value: String)] {
        shared.isStopRequested.store(true, ordering: .relaxed)
        thread.join()
        return shared.acked.withLock { $0 }
    }
}

extension RESPClient {
    /// GETs `keys` pipelined in batches: each key's value, nil for a missing key.
    func values(of keys: [String], batch: Int = 256) throws -> [String: String?] {
        var values: [String: String?] = [:]
        var start = 0
        while start < keys.count {
            let slice = keys[start..<min(start + batch, keys.count)]
            for key in slice { try send(["GET", key]) }
            for key in slice {
                switch try readReply() {
                case .bulk(let bytes?): values[key] = String(decoding: bytes, as: UTF8.self)
                case .bulk(nil): values[key] = .some(nil)
                case let other: throw HarnessError("GET \(key) answered \(other)")
                }
            }
            start += batch
        }
        return values
    }
}
