import Glibc

extension TCP {
    /// Loopback ports that nothing listens on now, for tests and benchmarks that start servers on chosen ports.
    ///
    /// They come from below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`). A port learnt by binding
    /// port 0 comes from that very range, so an outgoing connection made meanwhile (a load generator's, say) can
    /// take it before the server binds it. Each port is checked by binding it, and held until all are chosen.
    public enum FreePorts {
        /// Where candidates start: below the ports of well-known services.
        public static let lowestCandidate: UInt16 = 10_000
        /// Candidates tried before giving up: with a few thousand ports in use, finding none is a broken machine.
        public static let attemptsLimit = 1_000

        /// `count` distinct free loopback ports.
        public static func distinct(_ count: Int) throws(SystemError) -> [UInt16] {
            let end = ephemeralRangeStart
            let found = probing { hold in
                var ports: [UInt16] = []
                for _ in 0..<attemptsLimit where ports.count < count {
                    let candidate = UInt16.random(in: lowestCandidate..<end)
                    if !ports.contains(candidate), hold(candidate) { ports.append(candidate) }
                }
                return ports.count == count ? ports : nil
            }
            guard let found else { throw noneFree }
            return found
        }

        /// A port `base` such that `base + offset` is free for every offset (a pair's client and channel ports).
        public static func base(offsets: [UInt16]) throws(SystemError) -> UInt16 {
            let span = offsets.max() ?? 0
            let end = ephemeralRangeStart
            precondition(UInt32(lowestCandidate) + UInt32(span) < UInt32(end), "offsets too wide")
            for _ in 0..<attemptsLimit {
                let base = UInt16.random(in: lowestCandidate..<(end - span))
                if let found = probing({ hold in offsets.allSatisfy { hold(base + $0) } ? base : nil }) {
                    return found
                }
            }
            throw noneFree
        }

        /// The first port of the kernel's ephemeral range; 32768, Linux's default, when it cannot be read.
        public static var ephemeralRangeStart: UInt16 {
            let range = FileDescriptor.readText(atPath: "/proc/sys/net/ipv4/ip_local_port_range") ?? ""
            guard let start = UInt16(range.prefix { $0.isNumber }), start > lowestCandidate + 1_024 else { return 32_768 }
            return start
        }

        private static var noneFree: SystemError {
            SystemError(call: "bind", errno: EADDRINUSE, context: "every loopback port tried")
        }

        /// Runs `choose` with a function that binds a port and keeps it bound (false if it is taken), then
        /// releases every port it bound.
        private static func probing<Result>(_ choose: (_ hold: (UInt16) -> Bool) -> Result?) -> Result? {
            var listeners: [FileDescriptor] = []
            defer { for listener in listeners { try? listener.close() } }  // probes only
            return choose { port in
                guard let listener = try? TCP.listen(on: .loopback(port: port), backlog: 1) else { return false }
                listeners.append(listener)
                return true
            }
        }
    }
}
