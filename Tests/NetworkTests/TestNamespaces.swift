import Glibc
import Posix
import Synchronization

/// Network namespaces made for one test (names carry the test process's PID and a counter), with a way to run
/// code inside one; `tearDown` deletes them, and the devices in them go too. Needs root and `ip`, like `Topology`.
final class TestNamespaces: Sendable {
    private static let counter = Atomic<Int>(0)
    let ip: String
    let directory: String
    /// The namespaces, as created.
    let names: [String]
    /// A short tag unique to this set, for device names (under IFNAMSIZ with a few characters added).
    let tag: String

    init(count: Int, directory: String) throws {
        guard geteuid() == 0 else {
            throw HarnessError("these tests need root: they create network namespaces (`ip netns add`)")
        }
        guard let ip = Harness.executable("ip") else {
            throw HarnessError("these tests need `ip` (iproute2): apt-get install -y iproute2")
        }
        self.ip = ip
        self.directory = directory
        let tag = "t\(getpid() % 100_000)r\(Self.counter.add(1, ordering: .relaxed).newValue % 100)"
        self.tag = tag
        names = (0..<count).map { "lockstep-\(tag)-\($0)" }
        var made: [String] = []
        do {
            for name in names {
                try command(["netns", "add", name])
                made.append(name)
                try command(["-n", name, "link", "set", "lo", "up"])
            }
        } catch {
            for name in made { _ = try? Harness.run(ip, ["netns", "del", name], in: directory) }
            throw error
        }
    }

    /// Two namespaces joined by a veth pair, both ends up: `<tag>a` in namespace 0, `<tag>b` in namespace 1.
    /// `body` gets them and the two device names; everything is deleted after it.
    static func withVethPair(label: String, _ body: (TestNamespaces, String, String) throws -> Void) throws {
        let directory = try Harness.temporaryDirectory(label)
        defer { Harness.removeTree(directory) }
        let namespaces = try TestNamespaces(count: 2, directory: directory)
        defer { namespaces.tearDown() }
        let (a, b) = (namespaces.tag + "a", namespaces.tag + "b")
        try namespaces.command([
            "link", "add", "name", a, "netns", namespaces.names[0], "type", "veth", "peer", "name", b, "netns",
            namespaces.names[1],
        ])
        try namespaces.command(["-n", namespaces.names[0], "link", "set", a, "up"])
        try namespaces.command(["-n", namespaces.names[1], "link", "set", b, "up"])
        try body(namespaces, a, b)
    }

    /// Runs `ip` with `arguments`, throwing with its output when it fails; its output otherwise.
    @discardableResult
    func command(_ arguments: [String]) throws -> String {
        let (ok, output) = try Harness.run(ip, arguments, in: directory)
        guard ok else { throw HarnessError("ip \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }

    /// Runs `body` on a new thread that entered namespace `index` (threads it spawns inherit it).
    func run<T: Sendable>(in index: Int, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let path = "/var/run/netns/\(names[index])"
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let thread = try PosixThread.spawn {
            let result: Result<T, any Error>
            do {
                try Topology.enterNetworkNamespace(path)
                result = .success(try body())
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
        }
        thread.join()
        guard let result = outcome.withLock({ $0 }) else { throw HarnessError("the namespace thread left no result") }
        return try result.get()
    }

    /// The IPv4 addresses on `device` in namespace `index`, `a.b.c.d/len` each.
    func addresses(in index: Int, device: String) throws -> [String] {
        try IPView(ip: ip, directory: directory).addresses(in: names[index], device: device)
    }

    /// The device's MAC in namespace `index`.
    func hardwareAddress(in index: Int, device: String) throws -> String {
        try IPView(ip: ip, directory: directory).hardwareAddress(in: names[index], device: device)
    }

    /// Namespace `index`'s neighbour entry for `address`: its MAC, nil without one.
    func neighbour(in index: Int, _ address: String) throws -> String? {
        try IPView(ip: ip, directory: directory).neighbour(in: names[index], address)
    }

    /// Deletes the namespaces. Every process inside must already be killed and reaped.
    func tearDown() {
        for name in names { _ = try? Harness.run(ip, ["netns", "del", name], in: directory) }
    }
}

/// What `ip` says about a namespace's addresses, devices and neighbours, parsed: the tests' view from outside the
/// code under test.
struct IPView {
    let ip: String
    let directory: String

    private func output(_ arguments: [String]) throws -> String {
        let (ok, output) = try Harness.run(ip, arguments, in: directory)
        guard ok else { throw HarnessError("ip \(arguments.joined(separator: " ")) failed: \(output)") }
        return output
    }

    /// `ip -n NAMESPACE -o -4 addr show dev DEVICE`: the IPv4 addresses on the device, `a.b.c.d/len` each.
    func addresses(in namespace: String, device: String) throws -> [String] {
        try output(["-n", namespace, "-o", "-4", "addr", "show", "dev", device]).split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard let at = words.firstIndex(of: "inet"), at + 1 < words.count else { return nil }
            return String(words[at + 1])
        }
    }

    /// The device's MAC as `ip link` prints it (`02:ab:...`).
    func hardwareAddress(in namespace: String, device: String) throws -> String {
        let line = try output(["-n", namespace, "-o", "link", "show", "dev", device])
        let words = line.split(separator: " ")
        guard let at = words.firstIndex(of: "link/ether"), at + 1 < words.count else {
            throw HarnessError("no link/ether in: \(line)")
        }
        return String(words[at + 1])
    }

    /// The MAC in the namespace's neighbour entry for `address` (`ip neigh show ADDRESS`), nil without one.
    func neighbour(in namespace: String, _ address: String) throws -> String? {
        let words = try output(["-n", namespace, "neigh", "show", address]).split(whereSeparator: \.isWhitespace)
        guard let at = words.firstIndex(of: "lladdr"), at + 1 < words.count else { return nil }
        return String(words[at + 1])
    }
}
