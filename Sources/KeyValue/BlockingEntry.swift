import Replication

/// How a blocking pop and its end travel through the log, and how a reply that answers waiters travels back to the
/// runtime (`ClientRequest.blocking`, `KeyValueStore+Blocking`).
///
/// A connection's blocking pop is wrapped in `lockstep-block · connection id · command` (innermost: a database or
/// RESP3 entry wraps it), so the store knows whom to answer when it serves the waiter later. The runtime ends a wait
/// that timed out, or whose connection closed, with `lockstep-unblock · connection id`. A plain BLPOP (queued in
/// MULTI, or inside SESSION EXEC) never waits, as in Redis's transactions.
enum BlockingEntry {
    static let blockName = "lockstep-block"
    static let unblockName = "lockstep-unblock"
    /// Bytes the wrapping adds to a command's encoding, at most: the argument count, the name with its length, the
    /// connection id with its length, and the command's length varint. `KeyValueClientProtocol.replicatedBytesLimit`
    /// counts them.
    static let overheadBytesLimit = 1 + (1 + blockName.utf8.count) + (1 + 20) + 10

    /// `command` (an encoding) as connection `connection` sends it to wait.
    static func block(_ command: [UInt8], connection: UInt64) -> [UInt8] {
        CommandArguments(encoding: [Array(blockName.utf8), Array(String(connection).utf8), command]).encoding
    }

    /// The entry that ends connection `connection`'s wait, answering a null, or Redis's UNBLOCKED error.
    static func unblock(connection: UInt64, isError: Bool = false) -> [UInt8] {
        let arguments = [Array(unblockName.utf8), Array(String(connection).utf8)]
        return CommandArguments(encoding: isError ? arguments + [Array("error".utf8)] : arguments).encoding
    }

    /// The connection id and the wrapped command of a block entry (its arguments decoded, the name at 0); nil when
    /// malformed, which only a corrupt entry is.
    static func blocked(_ arguments: CommandArguments) -> (connection: UInt64, command: [[UInt8]])? {
        guard arguments.count == 3, let connection = Self.connection(arguments.bytes(at: 1)),
            let command = try? CommandArguments(decoding: arguments[2]), !command.isEmpty
        else { return nil }
        return (connection, Array(command))
    }

    /// The connection id of an unblock entry, and whether it answers an error; nil when malformed.
    static func unblocked(_ arguments: CommandArguments) -> (connection: UInt64, isError: Bool)? {
        guard arguments.count == 2 || arguments.count == 3 && ASCII.equals(arguments.bytes(at: 2), "error"),
            let connection = Self.connection(arguments.bytes(at: 1))
        else { return nil }
        return (connection, arguments.count == 3)
    }

    /// What CLIENT UNBLOCK ... ERROR answers the waiter, as Redis does.
    static let unblockedError = RESPWriter.error("UNBLOCKED client unblocked via CLIENT UNBLOCK")

    /// A connection id as an entry spells it: a non-negative decimal.
    private static func connection(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        DecimalInteger.parse(bytes).flatMap { $0 >= 0 ? UInt64($0) : nil }
    }

    static func isBlock(_ name: CommandName) -> Bool { name == blockEntryName }
    static func isUnblock(_ name: CommandName) -> Bool { name == unblockEntryName }

    private static let blockEntryName = CommandName(Array(blockName.utf8))!
    private static let unblockEntryName = CommandName(Array(unblockName.utf8))!
}

/// A reply that also answers waiters, as the store hands it to the runtime: `0 · own flag (1: the asker's reply
/// follows the deliveries; 0: the asker waits) · delivery count (4 LE) · per delivery: connection id (8 LE), length
/// (4 LE), reply · the asker's reply`. A RESP reply never starts with a zero byte, so a plain reply is never mistaken
/// for one, and replies without waiters (all but a few) are never wrapped.
enum RoutedReplyEncoding {
    static func encode(own: [UInt8]?, deliveries: [(connectionID: UInt64, reply: [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = [0, own == nil ? 0 : 1]
        func put(_ value: UInt64, width: Int) {
            for shift in stride(from: 0, to: width * 8, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        put(UInt64(deliveries.count), width: 4)
        for delivery in deliveries {
            put(delivery.connectionID, width: 8)
            put(UInt64(delivery.reply.count), width: 4)
            bytes.append(contentsOf: delivery.reply)
        }
        if let own { bytes.append(contentsOf: own) }
        return bytes
    }

    /// The parts of `bytes`; nil for a plain reply (or, defensively, a malformed envelope, passed on as it is).
    static func decode(_ bytes: ArraySlice<UInt8>) -> RoutedReply? {
        guard bytes.first == 0, bytes.count >= 6 else { return nil }
        var offset = bytes.startIndex + 1
        let hasOwn = bytes[offset] == 1
        offset += 1
        func take(_ width: Int) -> UInt64? {
            guard bytes.endIndex - offset >= width else { return nil }
            var value: UInt64 = 0
            for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            offset += width
            return value
        }
        guard let count = take(4) else { return nil }
        var deliveries: [(connectionID: UInt64, reply: [UInt8])] = []
        for _ in 0..<count {
            guard let connection = take(8), let length = take(4), bytes.endIndex - offset >= Int(length) else {
                return nil
            }
            deliveries.append((connection, Array(bytes[offset..<(offset + Int(length))])))
            offset += Int(length)
        }
        return RoutedReply(own: hasOwn ? Array(bytes[offset...]) : nil, deliveries: deliveries)
    }
}
