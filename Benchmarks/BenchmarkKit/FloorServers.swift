import Posix

/// The floors' servers, in this process: an echo server, and a relay in front of a second echo server.
///
/// Measured in the same run as Lockstep so the ratios compare like with like on a machine whose absolute speed
/// drifts. Each server is one epoll thread, so the 2-hop floor has the same thread count as a Lockstep pair
/// (client, primary, backup) on the same 2 cores.
public final class FloorServers {
    let echo: EchoServer
    let relayEcho: EchoServer
    let relay: Relay

    public init(messageBytes: Int) throws(SystemError) {
        echo = try EchoServer()
        do {
            relayEcho = try EchoServer()
        } catch {
            echo.stop()
            throw error
        }
        do {
            relay = try Relay(backend: relayEcho.address, messageBytes: messageBytes)
        } catch {
            echo.stop()
            relayEcho.stop()
            throw error
        }
    }

    /// Runs one floor case (`floor-1hop@N` or `floor-2hop@N`).
    public func measure(_ definition: CaseDefinition, plan: BenchmarkPlan) throws(SystemError) -> CaseMeasurement {
        let isRelay = definition.key.hasPrefix("floor-2hop")
        let specification = LoadSpecification(
            target: isRelay ? relay.address : echo.address, connections: definition.connections,
            pipelineDepth: definition.pipelineDepth, workload: plan.workload(for: definition),
            warmupNanoseconds: plan.warmupNanoseconds, durationNanoseconds: plan.caseDurationNanoseconds,
            operationLimit: plan.operationLimit)
        let sampler: CPUSampler
        if isRelay {
            let relay = relay, relayEcho = relayEcho
            sampler = {
                var sample: [String: UInt64] = [:]
                sample["relay thread"] = relay.cpuNanoseconds()
                sample["echo thread"] = relayEcho.cpuNanoseconds()
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
        let before = isRelay ? relay.counterSnapshot() : [:]
        var measurement = try LoadGenerator.run(specification, sampleCPU: sampler)
        if isRelay {
            let after = relay.counterSnapshot()
            for (name, value) in after { measurement.counterDeltas[name] = value - (before[name] ?? 0) }
        }
        return measurement
    }

    public func stop() {
        relay.stop()
        relayEcho.stop()
        echo.stop()
    }
}
