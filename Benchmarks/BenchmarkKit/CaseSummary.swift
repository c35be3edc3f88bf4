/// One case over every round: each figure as median [min–max] over the rounds that measured it.
public struct CaseSummary: Sendable {
    public var definition: CaseDefinition
    public var operationsPerSecond: Spread?
    /// Latencies in microseconds.
    public var p50: Spread?
    public var p99: Spread?
    public var p999: Spread?
    public var max: Spread?
    /// Errors summed over all rounds: any is worth a look, however the others went.
    public var errors: UInt64
    public var errorSamples: [String]
    /// All server processes together, µs of CPU per operation.
    public var serverCPUMicrosecondsPerOperation: Spread?
    /// Each server process (or thread) on its own, µs of CPU per operation, sorted by name.
    public var serverCPUByProcess: [(name: String, spread: Spread)]
    public var clientCPUMicrosecondsPerOperation: Spread?
    public var entriesPerWrite: Spread?
    public var entriesPerAck: Spread?
    /// Median change of each counter per round, sorted by name.
    public var counterDeltas: [(name: String, spread: Spread)]
    public var rounds: Int

    /// Summarises `measurements` (one per round that ran the case).
    public init(definition: CaseDefinition, measurements: [CaseMeasurement]) {
        self.definition = definition
        rounds = measurements.count
        let measured = measurements.filter { $0.operations > 0 }
        operationsPerSecond = Spread(measurements.map(\.operationsPerSecond))
        p50 = Spread(measured.map { $0.latencyMicroseconds(50) })
        p99 = Spread(measured.map { $0.latencyMicroseconds(99) })
        p999 = Spread(measured.map { $0.latencyMicroseconds(99.9) })
        max = Spread(measured.map { $0.latencyMicroseconds(100) })
        errors = measurements.reduce(0) { $0 + $1.errors }
        errorSamples = Array(measurements.flatMap(\.errorSamples).prefix(5))
        serverCPUMicrosecondsPerOperation = Spread(measured.compactMap(\.serverCPUMicrosecondsPerOperation))
        let processNames = Set(measured.flatMap(\.serverCPUNanoseconds.keys)).sorted()
        serverCPUByProcess = processNames.compactMap { name in
            let values = measured.compactMap { measurement in
                measurement.serverCPUNanoseconds[name].map { Double($0) / 1_000 / Double(measurement.operations) }
            }
            return Spread(values).map { (name, $0) }
        }
        clientCPUMicrosecondsPerOperation = Spread(
            measured.filter { $0.clientCPUNanoseconds > 0 }.map {
                Double($0.clientCPUNanoseconds) / 1_000 / Double($0.operations)
            })
        entriesPerWrite = Spread(measured.compactMap(\.batching.entriesPerWrite))
        entriesPerAck = Spread(measured.compactMap(\.batching.entriesPerAck))
        let counterNames = Set(measurements.flatMap(\.counterDeltas.keys)).sorted()
        counterDeltas = counterNames.compactMap { name in
            Spread(measurements.compactMap { $0.counterDeltas[name].map(Double.init) }).map { (name, $0) }
        }
    }
}
