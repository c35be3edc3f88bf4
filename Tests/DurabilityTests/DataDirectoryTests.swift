import Glibc
import Testing

@testable import Durability

@Suite("data directory: layout, one holder at a time, typed errors")
struct DataDirectoryTests {
    @Test("opening creates the directory and its folders when missing")
    func createsLayout() throws {
        try withTemporaryDirectory { parent in
            let path = parent + "/node-a"
            let directory = try DataDirectory(path: path + "/")
            #expect(directory.path == path)
            #expect(names(in: path) == ["lock", "log", "markers", "snapshots"])
            #expect(directory.notes.isEmpty)
            #expect(try readFile(path + "/lock") == Array("\(getpid())\n".utf8))
        }
    }

    @Test("a second opener is refused with the holder's pid while the first holds the directory, admitted after")
    func secondOpenerRefused() throws {
        try withTemporaryDirectory { path in
            var first: DataDirectory? = try DataDirectory(path: path)
            withExtendedLifetime(first) { () -> Void in
                #expect(throws: DurabilityError.locked(path: path, holderPID: getpid())) {
                    try DataDirectory(path: path)
                }
            }
            first = nil
            _ = try DataDirectory(path: path)
        }
    }

    @Test("a file where the directory or one of its folders should be is refused as not a directory")
    func notADirectory() throws {
        try withTemporaryDirectory { parent in
            try writeFile(parent + "/file", [1])
            #expect(throws: DurabilityError.notADirectory(path: parent + "/file")) {
                try DataDirectory(path: parent + "/file")
            }
            let path = parent + "/node"
            mkdir(path, 0o700)
            try writeFile(path + "/log", [1])
            #expect(throws: DurabilityError.notADirectory(path: path + "/log")) { try DataDirectory(path: path) }
        }
    }

    @Test("a refused call is permission_denied naming its path (faulted: tests run as root)")
    func permissionDenied() throws {
        try withTemporaryDirectory { parent in
            let plan = FaultPlan(errno: EACCES) { call, path in call == "mkdir" && path.hasSuffix("/snapshots") }
            do throws(DurabilityError) {
                _ = try DataDirectory(path: parent + "/node", fault: plan.fault)
                Issue.record("opened despite a refused mkdir")
            } catch {
                #expect(error == .permissionDenied(path: parent + "/node/snapshots", call: "mkdir", errno: EACCES))
                #expect(error.code == "permission_denied")
                #expect(error.description.contains(parent + "/node/snapshots"))
            }
            _ = try DataDirectory(path: parent + "/node")  // the failed open released its lock
        }
    }

    @Test("ENOSPC, EDQUOT and EFBIG are disk_full; EIO is io_failed")
    func errnoClassification() {
        for code in [ENOSPC, EDQUOT, EFBIG] {
            let error = DurabilityError(call: "pwrite", path: "/d/log/x", errno: code)
            #expect(error.code == "disk_full" && error.isDiskFull)
        }
        let other = DurabilityError(call: "pwrite", path: "/d/log/x", errno: EIO)
        #expect(other == .ioFailed(path: "/d/log/x", call: "pwrite", errno: EIO) && !other.isDiskFull)
        #expect(DurabilityError.writerBroken(path: "/d/log", cause: .diskFull(path: "/d", call: "fdatasync", errno: ENOSPC))
            .isDiskFull)
    }
}
