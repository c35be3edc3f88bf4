import Posix
import Runtime

/// The floors' servers, in this process: an echo server, and relays in front of echo servers of their own.
///
/// Measured in the same run as Lockstep so the ratios compare like with like on a machine whose absolute speed
/// drifts. Each server is one epoll thread, so the 2-hop floor has the same thread count as a Lockstep pair
/// (client, primary, backup) on the same 2 cores.
///
/// The floors of issue 6 sleep in `epoll_wait` between events, as Redis does. A Lockstep node polls for
/// `RuntimeConfiguration.defaultPollBeforeSleep` first (`EventLoop.pollBeforeSleep`), which on this VM spares each
/// hop the wakeup of a halted vCPU; so the 2-hop floor is also measured polling the same way, to show what fault
/// tolerance costs over the network alone when both sides avoid those wakeups.
public final class FloorServers {
    /// A relay in front of its own echo server.
    struct RelayFloor: Sendable {
        let relay: Relay
        let echo: EchoServer
    }

    let echo: EchoServer
    let sleepingRelay: RelayFloor
    let pollingRelay: RelayFloor

    public init(messageBytes: Int) throws(SystemError) {
        var stops: [() -> Void] = []
        func started<Server>(_ server: Server, stop: @escaping (Server) -> Void) -> Server {
            stops.append { stop(server) }
            return server
        }
        func relayFloor(polling: Duration) throws(SystemError) -> RelayFloor {
            let echo = started(try EchoServer(pollBeforeSleep: polling)) { $0.stop() }
            let relay = started(
                try Relay(backend: echo.address, messageBytes: messageBytes, pollBeforeSleep: polling)) { $0.stop() }
            return RelayFloor(relay: relay, echo: echo)
        }
        do {
            echo = started(try EchoServer()) { $0.stop() }
            sleepingRelay = try relayFloor(polling: .zero)
            pollingRelay = try relayFloor(polling: RuntimeConfiguration.defaultPollBeforeSleep)
        } catch {
            for stop in stops.reversed() { stop() }
            throw error
        }
    }

    /// Runs one floor case (`floor-1hop@N`, `floor-2hop@N` or `floor-2hop-poll@N`).
    public func measure(_ definition: CaseDefinition, plan: BenchmarkPlan) throws(SystemError) -> CaseMeasurement {
        let relayFloor: RelayFloor? =
            definition.key.hasPrefix("floor-2hop-poll")
            ? pollingRelay : definition.key.hasPrefix("floor-2hop") ? sleepingRelay : nil
        let specification = LoadSpecification(
            target: relayFloor?.relay.address ?? echo.address, connections: definition.connections,
            pipelineDepth: definition.pipelineDepth, workload: plan.workload(for: definition),
            warmupNanoseconds: plan.warmupNanoseconds, durationNanoseconds: plan.caseDurationNanoseconds,
            operationLimit: plan.operationLimit)
        let sampler: CPUSampler
        if let relayFloor {
            sampler = {
                var sample: [String: UInt64] = [:]
                sample["relay thread"] = relayFloor.relay.cpuNanoseconds()
                sample["echo thread"] = relayFloor.echo.cpuNanoseconds()
                return sample
            }
        } else {
            let echo = echo
            sampler = {
                var sample: [String: UInt64] = [:]
                sample["echo thread"] = echo.cpuNanoseconds()
                return sample
            }
        }
        let before = relayFloor?.relay.counterSnapshot() ?? [:]
        var measurement = try LoadGenerator.run(specification, sampleCPU: sampler)
        if let relayFloor {
            let after = relayFloor.relay.counterSnapshot()
            for (name, value) in after { measurement.counterDeltas[name] = value - (before[name] ?? 0) }
        }
        return measurement
    }

    public func stop() {
        for floor in [sleepingRelay, pollingRelay] {
            floor.relay.stop()
            floor.echo.stop()
        }
        echo.stop()
    }
}
