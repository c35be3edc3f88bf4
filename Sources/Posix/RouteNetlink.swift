import CShim
import Glibc

/// A network device as rtnetlink reports it: its kernel index and its hardware (MAC) address.
public struct NetworkDevice: Equatable, Sendable, CustomStringConvertible {
    /// The device's name, e.g. `eth0`.
    public var name: String
    /// The kernel's index for the device, which addresses and packet sockets name it by.
    public var index: CInt
    /// The device's link-layer address: six bytes on Ethernet, empty on a device without one (loopback).
    public var hardwareAddress: [UInt8]

    /// `eth0 (index 2, 02:42:ac:11:00:02)`.
    public var description: String {
        let mac = hardwareAddress.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
        return "\(name) (index \(index), \(mac))"
    }
}

/// An IPv4 address with its prefix length, as `ip addr` writes it: `198.18.0.10/24`.
public struct IPv4Prefix: Hashable, Sendable, CustomStringConvertible {
    /// The address in host byte order.
    public var address: UInt32
    /// Bits of the network part, 0 to 32.
    public var prefixLength: UInt8

    /// The address `address` (host byte order) with `prefixLength` bits of network.
    public init(address: UInt32, prefixLength: UInt8) {
        precondition(prefixLength <= 32, "an IPv4 prefix is at most 32 bits")
        self.address = address
        self.prefixLength = prefixLength
    }

    /// The address in dotted form, without the prefix.
    public var host: String { SocketAddress(ipv4: address, port: 0).host }

    /// `198.18.0.10/24`.
    public var description: String { "\(host)/\(prefixLength)" }
}

/// A NETLINK_ROUTE socket: the kernel's own interface to a device's addresses, spoken directly so that moving a
/// service address needs no `ip` program at run time, nor its output parsed.
///
/// Each request carries a sequence number and `NLM_F_ACK`, and the kernel's answer with that number is awaited:
/// an `NLMSG_ERROR` of 0 is success, a negative one is the errno the request failed with, reported as a
/// `SystemError` whose `call` names the request (`RTM_NEWADDR`). Answers with another number (left over from a
/// request that timed out) are skipped. The socket is blocking with a receive timeout of `answerTimeout`, so a
/// kernel that never answers costs that long, never a hang. For one thread at a time: the helper thread that
/// moves the address, or a test.
public final class RouteNetlink {
    /// How long one answer from the kernel is awaited; the kernel answers in microseconds, so this is slack.
    public static let answerTimeout: Duration = .seconds(2)
    /// Bytes of one receive; a kernel message about one address or link is a few hundred bytes.
    public static let receiveBufferBytes = 64 << 10
    /// Messages one address dump is read for at most: more than any real host has addresses; past it the dump is
    /// abandoned as an error rather than read for ever.
    public static let dumpMessagesLimit = 100_000

    private let socket: FileDescriptor
    private var sequence: UInt32 = 0
    private var buffer: [UInt8]

    /// Opens the socket in the calling thread's network namespace.
    public init() throws(SystemError) {
        let raw = try retryingInterrupts("socket") {
            Glibc.socket(cshim_af_netlink, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), cshim_netlink_route)
        }
        socket = FileDescriptor(rawValue: raw)
        buffer = [UInt8](repeating: 0, count: Self.receiveBufferBytes)
        var timeout = timeval(
            tv_sec: Int(Self.answerTimeout.components.seconds), tv_usec: 0)
        let set = setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if set != 0 {
            let error = SystemError(call: "setsockopt", errno: cshim_errno(), context: "SO_RCVTIMEO on netlink")
            try? socket.close()  // the option's failure is the one worth reporting
            throw error
        }
    }

    deinit { try? socket.close() }  // nothing is lost by a close that fails

    /// The device called `name`: its index and hardware address (`RTM_GETLINK`). A missing device is
    /// `SystemError(call: "RTM_GETLINK", errno: ENODEV)`.
    public func device(named name: String) throws(SystemError) -> NetworkDevice {
        var request = NetlinkMessage(type: cshim_rtm_getlink, flags: cshim_nlm_f_request, sequence: nextSequence())
        // struct ifinfomsg: family, pad, type, index, flags, change; the kernel looks the device up by IFLA_IFNAME.
        request.append(UInt8(AF_UNSPEC), UInt8(0), UInt16(0), Int32(0), UInt32(0), UInt32(0))
        request.appendAttribute(cshim_ifla_ifname, Array(name.utf8) + [0])
        var found: NetworkDevice?
        do {
            try exchange(request, call: "RTM_GETLINK") { type, payload in
                guard type == cshim_rtm_newlink, payload.count >= 16 else { return }
                let index = payload.loadInteger(Int32.self, at: 4)
                var hardware: [UInt8] = []
                for (attribute, value) in NetlinkMessage.attributes(payload, from: 16)
                where attribute == cshim_ifla_address {
                    hardware = Array(value)
                }
                found = NetworkDevice(name: name, index: index, hardwareAddress: hardware)
            }
        } catch {
            throw error.with(context: "device \(name)")
        }
        guard let found else { throw SystemError(call: "RTM_GETLINK", errno: ENODEV, context: "device \(name)") }
        return found
    }

    /// Adds `prefix` to the device with index `device` (`RTM_NEWADDR`, `IFA_LOCAL` and `IFA_ADDRESS` both the
    /// address): true if added, false if it was there already (`EEXIST`, which is success here).
    @discardableResult
    public func addAddress(_ prefix: IPv4Prefix, device: CInt) throws(SystemError) -> Bool {
        let flags = cshim_nlm_f_request | cshim_nlm_f_ack | cshim_nlm_f_create | cshim_nlm_f_excl
        do {
            try exchange(addressRequest(cshim_rtm_newaddr, flags: flags, prefix, device), call: "RTM_NEWADDR")
            return true
        } catch where error.errno == EEXIST {
            return false
        } catch {
            throw error.with(context: "\(prefix) on device index \(device)")
        }
    }

    /// Deletes `prefix` from the device with index `device` (`RTM_DELADDR`): true if deleted, false if it was not
    /// there (`EADDRNOTAVAIL`, which is success here).
    @discardableResult
    public func deleteAddress(_ prefix: IPv4Prefix, device: CInt) throws(SystemError) -> Bool {
        let flags = cshim_nlm_f_request | cshim_nlm_f_ack
        do {
            try exchange(addressRequest(cshim_rtm_deladdr, flags: flags, prefix, device), call: "RTM_DELADDR")
            return true
        } catch where error.errno == EADDRNOTAVAIL {
            return false
        } catch {
            throw error.with(context: "\(prefix) on device index \(device)")
        }
    }

    /// Whether the IPv4 address `address` (host byte order) is on the device with index `device`, whatever its
    /// prefix length (`RTM_GETADDR` dump, read to its end).
    public func hasAddress(_ address: UInt32, device: CInt) throws(SystemError) -> Bool {
        var request = NetlinkMessage(
            type: cshim_rtm_getaddr, flags: cshim_nlm_f_request | cshim_nlm_f_dump, sequence: nextSequence())
        request.append(UInt8(AF_INET), UInt8(0), UInt8(0), UInt8(0), Int32(0))
        var isPresent = false
        try exchange(request, call: "RTM_GETADDR") { type, payload in
            // struct ifaddrmsg: family, prefix length, flags, scope, index; then attributes.
            guard type == cshim_rtm_newaddr, payload.count >= 8, payload[payload.startIndex] == UInt8(AF_INET),
                payload.loadInteger(UInt32.self, at: 4) == UInt32(bitPattern: device)
            else { return }
            for (attribute, value) in NetlinkMessage.attributes(payload, from: 8)
            where attribute == cshim_ifa_local && value.count == 4 {
                if UInt32(bigEndianBytes: value) == address { isPresent = true }
            }
        }
        return isPresent
    }

    private func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    private func addressRequest(_ type: UInt16, flags: UInt16, _ prefix: IPv4Prefix, _ device: CInt) -> NetlinkMessage {
        var request = NetlinkMessage(type: type, flags: flags, sequence: nextSequence())
        request.append(
            UInt8(AF_INET), prefix.prefixLength, UInt8(0), cshim_rt_scope_universe, UInt32(bitPattern: device))
        let bytes = prefix.address.bigEndianBytes
        request.appendAttribute(cshim_ifa_local, bytes)
        request.appendAttribute(cshim_ifa_address, bytes)
        return request
    }

    /// Sends `request` and reads the kernel's answers to it until its ack (`NLMSG_ERROR` 0) or the end of a dump
    /// (`NLMSG_DONE`), handing every other message of ours to `each`; a nonzero `NLMSG_ERROR` throws its errno.
    private func exchange(
        _ request: NetlinkMessage, call: StaticString,
        _ each: (_ type: UInt16, _ payload: ArraySlice<UInt8>) -> Void = { _, _ in }
    ) throws(SystemError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(cshim_af_netlink)
        let message = request.finished()
        let sent = try retryingInterrupts("sendto") {
            message.withUnsafeBytes { bytes in
                withUnsafePointer(to: &kernel) { address in
                    address.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                        Glibc.sendto(socket.rawValue, bytes.baseAddress, bytes.count, 0, generic,
                            socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        }
        guard sent == message.count else { throw SystemError(call: "sendto", errno: EMSGSIZE, context: "netlink") }
        var messages = 0
        while true {
            let count: Int
            do {
                count = try retryingInterrupts("recv") {
                    buffer.withUnsafeMutableBytes { Glibc.recv(socket.rawValue, $0.baseAddress, $0.count, 0) }
                }
            } catch where error.isWouldBlock {
                throw SystemError(call: "\(call)", errno: ETIMEDOUT, context: "no answer from the kernel")
            }
            var offset = 0
            while offset + 16 <= count {
                let length = Int(buffer.loadInteger(UInt32.self, at: offset))
                guard length >= 16, offset + length <= count else { break }  // a truncated tail: not ours to read
                let type = buffer.loadInteger(UInt16.self, at: offset + 4)
                let number = buffer.loadInteger(UInt32.self, at: offset + 8)
                let payload = buffer[(offset + 16)..<(offset + length)]
                offset += (length + 3) & ~3
                guard number == request.sequence else { continue }
                messages += 1
                guard messages <= Self.dumpMessagesLimit else {
                    throw SystemError(
                        call: "\(call)", errno: E2BIG, context: "more than \(Self.dumpMessagesLimit) answers")
                }
                if type == cshim_nlmsg_done { return }
                if type == cshim_nlmsg_error {
                    guard payload.count >= 4 else { throw SystemError(call: "\(call)", errno: EPROTO) }
                    let code = payload.loadInteger(Int32.self, at: 0)
                    if code == 0 { return }
                    throw SystemError(call: "\(call)", errno: -code)
                }
                each(type, payload)
                // A lookup without NLM_F_ACK is answered by its one message and nothing after it.
                if request.flags & cshim_nlm_f_ack == 0, request.flags & cshim_nlm_f_dump == 0 { return }
            }
        }
    }
}

/// One netlink request being built: a header (`struct nlmsghdr`, its length filled in by `finished()`), then the
/// request's fixed part and attributes, each padded to four bytes. Integers in native byte order, as the kernel
/// reads them; addresses in network order.
struct NetlinkMessage {
    let flags: UInt16
    let sequence: UInt32
    private var bytes: [UInt8] = []

    init(type: UInt16, flags: UInt16, sequence: UInt32) {
        self.flags = flags
        self.sequence = sequence
        append(UInt32(0), type, flags, sequence, UInt32(0))
    }

    mutating func append<each T: FixedWidthInteger>(_ values: repeat each T) {
        for value in repeat each values {
            withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
        }
    }

    /// A `struct rtattr`: length, type, value, padding.
    mutating func appendAttribute(_ type: UInt16, _ value: [UInt8]) {
        append(UInt16(4 + value.count), type)
        bytes.append(contentsOf: value)
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    func finished() -> [UInt8] {
        var message = bytes
        withUnsafeBytes(of: UInt32(message.count)) { message.replaceSubrange(0..<4, with: $0) }
        return message
    }

    /// The attributes of a message payload, starting `offset` bytes in: (type, value) pairs; a malformed one ends
    /// the list.
    static func attributes(_ payload: ArraySlice<UInt8>, from offset: Int) -> [(UInt16, ArraySlice<UInt8>)] {
        var found: [(UInt16, ArraySlice<UInt8>)] = []
        var position = payload.startIndex + offset
        while position + 4 <= payload.endIndex {
            let length = Int(payload.loadInteger(UInt16.self, at: position - payload.startIndex))
            let type = payload.loadInteger(UInt16.self, at: position - payload.startIndex + 2)
            guard length >= 4, position + length <= payload.endIndex else { break }
            found.append((type & 0x3FFF, payload[(position + 4)..<(position + length)]))  // without NLA_F_* bits
            position += (length + 3) & ~3
        }
        return found
    }
}

extension Collection<UInt8> where Index == Int {
    /// The integer at `offset` bytes from the start, in native byte order, unaligned.
    func loadInteger<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<MemoryLayout<T>.size { raw[index] = self[startIndex + offset + index] }
        }
        return value
    }
}

extension UInt32 {
    /// The four bytes in network order.
    var bigEndianBytes: [UInt8] {
        [UInt8(self >> 24), UInt8(self >> 16 & 0xFF), UInt8(self >> 8 & 0xFF), UInt8(self & 0xFF)]
    }

    /// The value of four bytes in network order.
    init(bigEndianBytes bytes: ArraySlice<UInt8>) {
        self = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
