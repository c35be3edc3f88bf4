import Glibc
import Posix
@testable import Runtime
import Synchronization
import Testing

extension NetworkTests {
    /// The runtime's `ServiceAddressWorker` on a real device in a namespace the test creates: what a node start,
    /// going live, stepping down and exiting do to the address, and how failures are retried and logged.
    @Suite("the service address worker", .serialized)
    struct ServiceAddressWorkerTests {
        static let prefix = "198.18.7.10/24"

        static func serviceEvents(_ events: RecordedNetworkEvents) -> [ServiceAddressEvent] {
            events.all.compactMap { if case .serviceAddress(let event) = $0 { event } else { nil } }
        }

        /// A worker for `prefix` on `device`, made and started on a thread inside namespace 0.
        static func startWorker(
            _ namespaces: TestNamespaces, device: String, events: RecordedNetworkEvents
        ) throws -> ServiceAddressWorker {
            try namespaces.run(in: 0) {
                let worker = try ServiceAddressWorker(
                    address: try ServiceAddress(parsing: prefix, device: device)
                ) { event in
                    print("[worker] \(event)")
                    events.append(event)
                }
                try worker.start()
                return worker
            }
        }

        @Test("start removes a stale copy; live adds and announces 3 times; not live removes; exit removes")
        func lifecycle() throws {
            try TestNamespaces.withVethPair(label: "worker") { namespaces, a, b in
                try namespaces.command(["-n", namespaces.names[0], "addr", "add", Self.prefix, "dev", a])
                let events = RecordedNetworkEvents()
                let capture = try namespaces.run(in: 1) { try ARPCapture(device: b) }
                defer { capture.close() }
                let worker = try Self.startWorker(namespaces, device: a, events: events)
                var isFinished = false
                defer { if !isFinished { worker.halt(); worker.join() } }
                #expect(try namespaces.addresses(in: 0, device: a) == [], "the stale copy is still there")
                #expect(Self.serviceEvents(events).contains { if case .staleCopyRemoved = $0 { true } else { false } })

                worker.want(.present)
                #expect(try waitUntil(.seconds(5)) { try namespaces.addresses(in: 0, device: a) == [Self.prefix] })
                var announcements = 0
                while capture.next(timeout: .seconds(1)) != nil { announcements += 1 }
                #expect(announcements == ServiceAddressWorker.announcementsCount)

                worker.want(.absent)
                #expect(try waitUntil(.seconds(5)) { try namespaces.addresses(in: 0, device: a) == [] })

                // Only the latest wanted state counts: a burst ending live leaves the address on.
                for wanted in [ServiceAddressWorker.Wanted.present, .absent, .present, .absent, .present] {
                    worker.want(wanted)
                }
                #expect(try waitUntil(.seconds(5)) { try namespaces.addresses(in: 0, device: a) == [Self.prefix] })
                worker.finish()
                isFinished = true
                #expect(try namespaces.addresses(in: 0, device: a) == [], "an exiting node left the address on")
            }
        }

        @Test("a missing device is a typed start-up error")
        func missingDevice() throws {
            try TestNamespaces.withVethPair(label: "worker") { namespaces, _, _ in
                let error = try namespaces.run(in: 0) { () -> ServiceAddressError? in
                    do throws(ServiceAddressError) {
                        _ = try ServiceAddressWorker(
                            address: try ServiceAddress(parsing: Self.prefix, device: "nosuchdev0"), log: { _ in })
                        return nil
                    } catch {
                        return error
                    }
                }
                #expect(error == .deviceMissing("nosuchdev0"))
            }
        }

        @Test("a failing step is retried until it works, and logged once, not at every retry")
        func failureRetried() throws {
            try TestNamespaces.withVethPair(label: "worker") { namespaces, a, _ in
                let events = RecordedNetworkEvents()
                let worker = try Self.startWorker(namespaces, device: a, events: events)
                defer { worker.halt(); worker.join() }
                // The device disappears (moved to the other namespace) before the node goes live.
                try namespaces.command(["-n", namespaces.names[0], "link", "set", a, "netns", namespaces.names[1]])
                worker.want(.present)
                let retries = 3
                sleep(for: ServiceAddressWorker.retryInterval * retries + .milliseconds(200))
                let failures = Self.serviceEvents(events).compactMap {
                    if case .failed(let error, let count, _) = $0 { (error, count) } else { nil }
                }
                #expect(failures.map(\.0) == [.deviceMissing(a)], "one line for the streak: \(failures)")
                #expect(failures.first?.1 == 1)
                // The device comes back: the next retry adds the address.
                try namespaces.command(["-n", namespaces.names[1], "link", "set", a, "netns", namespaces.names[0]])
                try namespaces.command(["-n", namespaces.names[0], "link", "set", a, "up"])
                #expect(try waitUntil(.seconds(5)) { try namespaces.addresses(in: 0, device: a) == [Self.prefix] })
            }
        }
    }
}

/// Events a worker logged, shared between its thread and the test.
final class RecordedNetworkEvents: Sendable {
    private let events = Mutex<[RuntimeEvent]>([])
    func append(_ event: RuntimeEvent) { events.withLock { $0.append(event) } }
    var all: [RuntimeEvent] { events.withLock { $0 } }
}
