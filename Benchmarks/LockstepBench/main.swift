// lockstep-bench: parses flags, runs the benchmark, prints the report. Everything else lives in BenchmarkKit.
import BenchmarkKit
import Glibc
import Posix

/// Progress lines go to stderr, so stdout carries only the markdown report.
func progress(_ line: String) {
    let text = line + "\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
}

let parsed: BenchmarkCommandLine.Parsed
do {
    parsed = try BenchmarkCommandLine.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    progress("lockstep-bench: \(error)")
    exit(2)
}
guard case .run(let options, let isStrict) = parsed else {
    print(BenchmarkCommandLine.usage)
    exit(0)
}

Signals.ignoreBrokenPipe()
let supervisor = ProcessSupervisor.shared
do {
    try supervisor.cleanUpOnInterrupt()
} catch {
    progress("lockstep-bench: cannot handle Ctrl-C (\(error)); processes may survive an interrupt")
}
supervisor.cleanUpAtExit()

let runner = BenchmarkRunner(options: options, log: progress)
let report = runner.run()
supervisor.cleanUp()
print(report.markdown())
if let path = options.jsonPath {
    do {
        try TextFile.write(report.json().rendered(pretty: true) + "\n", to: path)
        progress("lockstep-bench: JSON report written to \(path)")
    } catch {
        progress("lockstep-bench: could not write \(path): \(error)")
        exit(1)
    }
}
if isStrict {
    let problems = runner.problems
    if !problems.isEmpty {
        progress("lockstep-bench --strict: " + problems.joined(separator: "; "))
        exit(1)
    }
}
