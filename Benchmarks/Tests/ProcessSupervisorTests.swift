import Glibc
import Posix
import Testing

@testable import BenchmarkKit

@Suite("Process supervisor", .serialized)
struct ProcessSupervisorTests {
    /// Whether `pid` is gone or only a zombie: dead either way (a zombie whose parent is gone waits for init).
    private func isDead(_ pid: pid_t) -> Bool {
        guard let stat = FileDescriptor.readText(atPath: "/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    @Test("killing a child kills what it forked too, as a Redis rewriting its append-only file forks")
    func forkedChildrenDie() throws {
        let directory = try TextFile.makeTemporaryDirectory(prefix: "lockstep-bench-test")
        defer { TextFile.removeTree(directory) }
        let pidFile = "\(directory)/grandchild"
        let child = try ProcessSupervisor.shared.spawn(
            "/bin/sh", arguments: ["-c", "sleep 30 & echo $! > \(pidFile).tmp && mv \(pidFile).tmp \(pidFile); wait"])
        var grandchild: pid_t?
        let end = monotonicNanoseconds() + 5_000_000_000
        while grandchild == nil, monotonicNanoseconds() < end {
            grandchild = FileDescriptor.readText(atPath: pidFile).flatMap { pid_t($0.filter(\.isNumber)) }
            if grandchild == nil { sleep(for: .milliseconds(5)) }
        }
        let forked = try #require(grandchild, "the shell never reported its child")
        defer { if !isDead(forked) { kill(forked, SIGKILL) } }  // only if the check below failed: leave nothing behind
        #expect(!isDead(forked))
        ProcessSupervisor.shared.kill(child)
        var isGone = isDead(forked)
        while !isGone, monotonicNanoseconds() < end + 2_000_000_000 {
            sleep(for: .milliseconds(5))
            isGone = isDead(forked)
        }
        #expect(isGone, "the forked process \(forked) outlived its parent")
    }
}
