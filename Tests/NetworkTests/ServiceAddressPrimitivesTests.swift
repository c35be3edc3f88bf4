import CShim
import Glibc
import Posix
import Synchronization
import Testing

extension NetworkTests {
    /// rtnetlink and gratuitous ARP, the two primitives address takeover is built on, against a real kernel inside
    /// network namespaces the test creates: namespace 0 holds `<tag>a`, a veth whose peer `<tag>b` is in namespace 1.
    /// Every answer is checked against `ip`'s own view.
    @Suite("service address primitives: rtnetlink and gratuitous ARP", .serialized)
    struct ServiceAddressPrimitivesTests {
        static let address = IPv4Prefix(address: 0xC612_070A, prefixLength: 24)  // 198.18.7.10/24

        func withLink(_ body: (TestNamespaces, String, String) throws -> Void) throws {
            try TestNamespaces.withVethPair(label: "primitives", body)
        }

        @Test("a device's index and MAC, as ip link shows them; a missing device is ENODEV")
        func deviceLookup() throws {
            try withLink { namespaces, a, _ in
                let device = try namespaces.run(in: 0) { try RouteNetlink().device(named: a) }
                let line = try namespaces.command(["-n", namespaces.names[0], "-o", "link", "show", "dev", a])
                #expect(line.hasPrefix("\(device.index): \(a)@"), "\(line)")
                let mac = device.hardwareAddress.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
                #expect(try namespaces.hardwareAddress(in: 0, device: a) == mac)
                let missing = try namespaces.run(in: 0) { () -> SystemError? in
                    do throws(SystemError) {
                        _ = try RouteNetlink().device(named: "nosuchdev0")
                        return nil
                    } catch {
                        return error
                    }
                }
                #expect(missing == SystemError(call: "RTM_GETLINK", errno: ENODEV))
            }
        }

        @Test("add, present, delete, absent; adding twice and deleting twice are no-ops, not errors")
        func addAndDelete() throws {
            try withLink { namespaces, a, _ in
                let steps = try namespaces.run(in: 0) { () -> [Bool] in
                    let netlink = try RouteNetlink()
                    let index = try netlink.device(named: a).index
                    return [
                        try netlink.addAddress(Self.address, device: index),
                        try netlink.hasAddress(Self.address.address, device: index),
                    ]
                }
                #expect(steps == [true, true])
                #expect(try namespaces.addresses(in: 0, device: a) == ["198.18.7.10/24"])
                let again = try namespaces.run(in: 0) { () -> [Bool] in
                    let netlink = try RouteNetlink()
                    let index = try netlink.device(named: a).index
                    return [
                        try netlink.addAddress(Self.address, device: index),  // already there
                        try netlink.deleteAddress(Self.address, device: index),
                        try netlink.hasAddress(Self.address.address, device: index),
                        try netlink.deleteAddress(Self.address, device: index),  // already gone
                    ]
                }
                #expect(again == [false, true, false, false])
                #expect(try namespaces.addresses(in: 0, device: a) == [])
            }
        }

        @Test("an address on another device is not on this one; a bad device index is a typed error")
        func otherDeviceAndBadIndex() throws {
            try withLink { namespaces, a, _ in
                try namespaces.command(["-n", namespaces.names[0], "addr", "add", "198.18.7.10/24", "dev", "lo"])
                let (present, error) = try namespaces.run(in: 0) { () -> (Bool, SystemError?) in
                    let netlink = try RouteNetlink()
                    let present = try netlink.hasAddress(Self.address.address, device: try netlink.device(named: a).index)
                    do throws(SystemError) {
                        try netlink.addAddress(Self.address, device: 999_999)
                        return (present, nil)
                    } catch {
                        return (present, error)
                    }
                }
                #expect(!present)
                #expect(error == SystemError(call: "RTM_NEWADDR", errno: ENODEV))
            }
        }

        @Test("a gratuitous ARP arrives broadcast with sender = target = the address and the device's MAC, and moves the neighbour entry")
        func gratuitousARP() throws {
            try withLink { namespaces, a, b in
                try namespaces.command(["-n", namespaces.names[1], "addr", "add", "198.18.7.20/24", "dev", b])
                // The receiver knows the address at another MAC, as a client does before a failover.
                try namespaces.command([
                    "-n", namespaces.names[1], "neigh", "add", "198.18.7.10", "lladdr", "02:00:00:00:00:01", "dev", b,
                    "nud", "stale",
                ])
                let capture = try namespaces.run(in: 1) { try ARPCapture(device: b) }
                defer { capture.close() }
                let device = try namespaces.run(in: 0) { () -> NetworkDevice in
                    let device = try RouteNetlink().device(named: a)
                    try GratuitousARP.announce(Self.address.address, on: device)
                    return device
                }
                let frame = try #require(capture.next(timeout: .seconds(2)), "no ARP frame arrived")
                #expect(frame.payload.count >= 28, "an ARP payload is 28 bytes (more only as padding)")
                #expect(Array(frame.payload.prefix(28)) == GratuitousARP.payload(announcing: Self.address.address, from: device.hardwareAddress))
                #expect(Array(frame.payload[8..<14]) == device.hardwareAddress, "sender hardware address")
                #expect(Array(frame.payload[14..<18]) == [198, 18, 7, 10], "sender protocol address")
                #expect(Array(frame.payload[24..<28]) == [198, 18, 7, 10], "target protocol address")
                #expect(frame.source == device.hardwareAddress)
                #expect(frame.isBroadcast)
                let mac = try namespaces.hardwareAddress(in: 0, device: a)
                #expect(try namespaces.neighbour(in: 1, "198.18.7.10") == mac)
            }
        }
    }
}

/// A packet socket receiving ARP frames on one device, for the test to see what was sent.
final class ARPCapture: Sendable {
    struct Frame {
        var payload: [UInt8]
        var source: [UInt8]
        var isBroadcast: Bool
    }

    private let descriptor: CInt

    init(device: String) throws {
        let index = try RouteNetlink().device(named: device).index
        descriptor = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue), CInt(UInt16(0x0806).bigEndian))
        guard descriptor >= 0 else { throw SystemError(call: "socket", errno: errno, context: "AF_PACKET") }
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = UInt16(0x0806).bigEndian
        address.sll_ifindex = index
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
            }
        }
        guard bound == 0 else { throw SystemError(call: "bind", errno: errno, context: device) }
    }

    /// The next ARP frame that arrived (not one this namespace sent) within `timeout`, or nil.
    func next(timeout: Duration) -> Frame? {
        let end = Stopwatch.now + timeout
        while Stopwatch.now < end {
            guard let (frame, isOutgoing) = receive(timeout: end - Stopwatch.now) else { return nil }
            if !isOutgoing { return frame }
        }
        return nil
    }

    private func receive(timeout: Duration) -> (Frame, isOutgoing: Bool)? {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, CInt(max(1, timeout.nanoseconds / 1_000_000))) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 1_500)
        var from = sockaddr_ll()
        var length = socklen_t(MemoryLayout<sockaddr_ll>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, bytes.baseAddress, bytes.count, 0, $0, &length)
                }
            }
        }
        guard count > 0 else { return nil }
        let source = withUnsafeBytes(of: from.sll_addr) { Array($0.prefix(Int(from.sll_halen))) }
        // sll_pkttype: PACKET_BROADCAST is 1, PACKET_OUTGOING 4.
        return (Frame(payload: Array(buffer[..<count]), source: source, isBroadcast: from.sll_pkttype == 1),
            from.sll_pkttype == 4)
    }

    func close() { _ = Glibc.close(descriptor) }
}
