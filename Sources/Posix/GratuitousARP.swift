import CShim
import Glibc

/// Gratuitous ARP: an ARP request for our own address, broadcast, so that every host on the segment that has a
/// neighbour entry for the address points it at our hardware address at once, instead of sending to the old
/// owner until its entry goes stale.
///
/// The frame is an ARP request with sender and target protocol address both the announced address and the
/// sender hardware address the device's own (RFC 5227's "ARP announcement", what `arping -U` and keepalived
/// send); Linux receivers treat it as gratuitous and override an existing entry even within its lock time. It
/// goes out through an `AF_PACKET`/`SOCK_DGRAM` socket bound to `ETH_P_ARP`, so the kernel writes the Ethernet
/// header (broadcast destination, the device's source). Needs `CAP_NET_RAW`.
public enum GratuitousARP {
    /// The ARP payload for `address` (host byte order) announced by `hardwareAddress` (six bytes).
    public static func payload(announcing address: UInt32, from hardwareAddress: [UInt8]) -> [UInt8] {
        precondition(hardwareAddress.count == 6, "gratuitous ARP is for Ethernet devices")
        let ip = address.bigEndianBytes
        var frame: [UInt8] = []
        frame += [UInt8(cshim_arphrd_ether >> 8), UInt8(cshim_arphrd_ether & 0xFF)]  // hardware type
        frame += [0x08, 0x00, 6, 4]  // protocol IPv4, hardware and protocol address lengths
        frame += [UInt8(cshim_arpop_request >> 8), UInt8(cshim_arpop_request & 0xFF)]
        frame += hardwareAddress + ip  // sender
        frame += [UInt8](repeating: 0, count: 6) + ip  // target: the same address, hardware unknown
        return frame
    }

    /// Opens and closes the packet socket `announce` uses: `EPERM` now, rather than at the first announcement, for
    /// a process without `CAP_NET_RAW`.
    public static func checkPermission() throws(SystemError) {
        let socket = try openSocket()
        try? socket.close()  // a socket that never sent: nothing to lose
    }

    private static func openSocket() throws(SystemError) -> FileDescriptor {
        let raw = try retryingInterrupts("socket") {
            Glibc.socket(
                cshim_af_packet, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                CInt(cshim_eth_p_arp.bigEndian))
        }
        return FileDescriptor(rawValue: raw)
    }

    /// Broadcasts one announcement of `address` (host byte order) on `device`. A device without an Ethernet
    /// address is `EINVAL`.
    public static func announce(_ address: UInt32, on device: NetworkDevice) throws(SystemError) {
        guard device.hardwareAddress.count == 6 else {
            throw SystemError(
                call: "sendto", errno: EINVAL, context: "ARP on \(device.name), which has no Ethernet address")
        }
        let socket = try openSocket()
        let raw = socket.rawValue
        defer { try? socket.close() }  // a send-only socket: nothing is lost by a close that fails
        var destination = sockaddr_ll()
        destination.sll_family = UInt16(cshim_af_packet)
        destination.sll_protocol = cshim_eth_p_arp.bigEndian
        destination.sll_ifindex = device.index
        destination.sll_halen = 6
        withUnsafeMutableBytes(of: &destination.sll_addr) { bytes in
            for index in 0..<6 { bytes[index] = 0xFF }  // broadcast
        }
        let frame = payload(announcing: address, from: device.hardwareAddress)
        do {
            _ = try retryingInterrupts("sendto") {
                frame.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &destination) { pointer in
                        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                            Glibc.sendto(raw, bytes.baseAddress, bytes.count, 0, generic,
                                socklen_t(MemoryLayout<sockaddr_ll>.size))
                        }
                    }
                }
            }
        } catch {
            throw error.with(context: "gratuitous ARP on \(device.name)")
        }
    }
}
