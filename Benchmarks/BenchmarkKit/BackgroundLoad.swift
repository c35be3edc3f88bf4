import Posix
import Synchronization

/// A load generator running on its own thread while the harness thread kills, stops or watches the servers.
final class BackgroundLoad: Sendable {
    let progress = LoadProgress()
    private let thread: PosixThread
    private let box: ResultBox

    init(_ specification: LoadSpecification) throws(SystemError) {
        let progress = progress
        let box = ResultBox()
        self.box = box
        thread = try PosixThread.spawn {
            let outcome = Result { () throws(SystemError) in try LoadGenerator.run(specification, progress: progress) }
            box.value.withLock { $0 = outcome }
        }
    }

    /// Asks the load to stop and waits for it: what it measured, or why it could not connect.
    func stop() -> Result<CaseMeasurement, SystemError> {
        progress.requestStop()
        thread.join()
        return box.value.withLock { $0 } ?? .failure(SystemError(call: "load", errno: 0))
    }

    /// Waits until `count` operations completed (warm-up included) or the deadline; returns whether they did.
    func waitForCompleted(_ count: UInt64, deadline: UInt64) -> Bool {
        poll(until: deadline, every: .milliseconds(2)) { progress.completed.load(ordering: .relaxed) >= count }
    }

    private final class ResultBox: Sendable {
        let value = Mutex<Result<CaseMeasurement, SystemError>?>(nil)
    }
}
