#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// What every connection asks, as Redis's MONITOR shows it: one `+<unix time> [<db> <client address>] "arg" ...` line per
/// request, built by the client protocol as it parses, taken by the runtime once per round for the monitors.
///
/// Built only while some connection monitors (the runtime says so), so a node without monitors pays one atomic load
/// per request. What it holds between two rounds is bounded by `bytesLimit`; lines past it are dropped and counted,
/// and the next feed says how many, rather than grow or stall the node.
public final class MonitorFeed: Sendable {
    /// Bytes of lines held between two rounds; a round's parsing produces far less unless the monitors fall behind.
    public static let bytesLimit = 1 << 20

    private struct Pending {
        var bytes: [UInt8] = []
        var droppedLines = 0
    }

    private let isWanted = Atomic<Bool>(false)
    private let pending = Mutex(Pending())

    /// A feed nobody reads yet.
    public init() {}

    /// Whether lines are being built.
    var isActive: Bool { isWanted.load(ordering: .relaxed) }

    /// Starts or stops building lines; stopping forgets what was held.
    func setWanted(_ wanted: Bool) {
        isWanted.store(wanted, ordering: .relaxed)
        if !wanted { pending.withLock { $0 = Pending() } }
    }

    /// Adds the line for `arguments`, sent by connection `clientID` from `peerAddress` with `database` selected; a
    /// connection whose address is unknown shows as `id=<client>`.
    func note(_ arguments: CommandArguments, clientID: UInt64, peerAddress: String?, database: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let microseconds = String(now.tv_nsec / 1_000)
        var line = Array("+\(now.tv_sec).\(String(repeating: "0", count: 6 - microseconds.count))\(microseconds)".utf8)
        line += Array(" [\(database) \(peerAddress ?? "id=\(clientID)")]".utf8)
        for position in arguments.indices {
            line.append(UInt8(ascii: " "))
            Self.appendQuoted(arguments.bytes(at: position), to: &line)
        }
        line += [13, 10]
        pending.withLock { pending in
            guard pending.bytes.count + line.count <= Self.bytesLimit else {
                pending.droppedLines += 1
                return
            }
            pending.bytes += line
        }
    }

    /// The lines since the last call; nil when there are none.
    func take() -> [UInt8]? {
        let taken = pending.withLock { pending -> Pending in
            defer { pending = Pending() }
            return pending
        }
        var bytes = taken.bytes
        if taken.droppedLines > 0 {
            bytes += Array("+(\(taken.droppedLines) requests not shown: the monitors fell behind)\r\n".utf8)
        }
        return bytes.isEmpty ? nil : bytes
    }

    /// `bytes` in double quotes, escaped as Redis's `sdscatrepr` does, so a line never breaks.
    static func appendQuoted(_ bytes: ArraySlice<UInt8>, to line: inout [UInt8]) {
        let hexDigits = Array("0123456789abcdef".utf8)
        line.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): line += [UInt8(ascii: "\\"), byte]
            case 10: line += Array("\\n".utf8)
            case 13: line += Array("\\r".utf8)
            case 9: line += Array("\\t".utf8)
            case 7: line += Array("\\a".utf8)
            case 8: line += Array("\\b".utf8)
            case 0x20...0x7E: line.append(byte)
            default: line += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            }
        }
        line.append(UInt8(ascii: "\""))
    }
}
