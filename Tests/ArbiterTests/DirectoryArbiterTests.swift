import Glibc
import Testing

@testable import Arbiter

@Suite("DirectoryArbiter")
struct DirectoryArbiterTests {
    // MARK: Taking epochs

    @Test("an unused directory has no current epoch")
    func unusedDirectoryHasNoCurrentEpoch() throws {
        try withTemporaryDirectory { directory in
            let current = try DirectoryArbiter(directory: directory).current()
            #expect(current == nil)
        }
    }

    @Test("the first take of epoch 1 is granted and its record reads back with every field")
    func firstTakeIsGranted() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory)
            let before = nowMilliseconds()
            let granted = try #require(try arbiter.take(epoch: 1, for: .node("alpha")).grantedRecord)
            #expect(granted.epoch == 1)
            #expect(granted.claim == .node("alpha"))
            #expect((before...nowMilliseconds()).contains(granted.takenAtMilliseconds))
            #expect(try arbiter.current() == granted)

            let text = String(decoding: try readFile(directory + "/epoch-00000000000000000001"), as: UTF8.self)
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.count == 7)
            #expect(Array(lines.prefix(6)) == [
                "lockstep-arbiter 1", "epoch 1", "node alpha", "channel 10.0.0.5:7000", "client 10.0.0.5:6379",
                "taken-at-ms \(granted.takenAtMilliseconds)",
            ])
            #expect(lines.last?.hasPrefix("crc32c ") == true)
            #expect(directoryNames(directory) == ["epoch-00000000000000000001"], "no temporary file left behind")
        }
    }

    @Test("a second take of the same epoch loses to the first taker")
    func secondTakeLoses() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory)
            let first = try #require(try arbiter.take(epoch: 1, for: .node("alpha")).grantedRecord)
            #expect(try arbiter.take(epoch: 1, for: .node("beta")) == .lost(to: first))
            #expect(try arbiter.current() == first)
        }
    }

    @Test("an epoch at or below the highest taken one is refused, naming the highest")
    func lowerEpochIsRefused() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory)
            let third = try #require(try arbiter.take(epoch: 3, for: .node("alpha")).grantedRecord)
            #expect(try arbiter.take(epoch: 2, for: .node("beta")) == .lost(to: third))
            #expect(try arbiter.take(epoch: 3, for: .node("beta")) == .lost(to: third))
            #expect(directoryNames(directory) == ["epoch-00000000000000000003"], "a refused take writes nothing")
        }
    }

    @Test("current names the highest epoch taken")
    func currentIsHighest() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory)
            _ = try arbiter.take(epoch: 1, for: .node("alpha"))
            _ = try arbiter.take(epoch: 2, for: .node("beta"))
            let fifth = try #require(try arbiter.take(epoch: 5, for: .node("gamma")).grantedRecord)
            #expect(try arbiter.current() == fifth)
            #expect(try arbiter.take(epoch: 6, for: .node("alpha")).grantedRecord?.epoch == 6)
            #expect(try arbiter.current()?.claim.nodeName == "alpha")
        }
    }

    @Test("a trailing slash names the same directory")
    func trailingSlash() throws {
        try withTemporaryDirectory { directory in
            let granted = try DirectoryArbiter(directory: directory + "/").take(epoch: 1, for: .node("alpha"))
            #expect(try DirectoryArbiter(directory: directory).current() == granted.grantedRecord)
        }
    }

    // MARK: A directory that cannot be used

    @Test("a missing directory is reported as missing by current and take")
    func missingDirectory() throws {
        try withTemporaryDirectory { parent in
            let arbiter = DirectoryArbiter(directory: parent + "/absent")
            #expect(throws: ArbiterError.directoryMissing(path: parent + "/absent")) { try arbiter.current() }
            #expect(throws: ArbiterError.directoryMissing(path: parent + "/absent")) {
                try arbiter.take(epoch: 1, for: .node("alpha"))
            }
        }
    }

    @Test("a file where the directory should be is unreadable, even for root")
    func fileInPlaceOfDirectory() throws {
        try withTemporaryDirectory { parent in
            let path = parent + "/not-a-directory"
            try writeFile(path, Array("hello\n".utf8))
            let arbiter = DirectoryArbiter(directory: path)
            let expected = ArbiterError.unreadable(path: path, reason: "not a directory")
            #expect(throws: expected) { try arbiter.current() }
            #expect(throws: expected) { try arbiter.take(epoch: 1, for: .node("alpha")) }
        }
    }

    @Test("a directory without read permission is unreadable", .enabled(if: !isRoot, "root bypasses permission bits"))
    func unreadableDirectoryByPermission() throws {
        try withTemporaryDirectory { directory in
            chmod(directory, 0o000)
            defer { chmod(directory, 0o700) }
            let arbiter = DirectoryArbiter(directory: directory)
            #expect(throws: ArbiterError.unreadable(path: directory, reason: "Permission denied")) {
                try arbiter.current()
            }
            #expect(throws: ArbiterError.unreadable(path: directory, reason: "Permission denied")) {
                try arbiter.take(epoch: 1, for: .node("alpha"))
            }
        }
    }

    @Test("a directory whose listing is denied is unreadable (failure injected, so it also runs as root)")
    func unreadableDirectoryByFault() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory, fault: { call, _ in call == "opendir" ? EACCES : nil })
            let expected = ArbiterError.unreadable(path: directory, reason: "Permission denied")
            #expect(throws: expected) { try arbiter.current() }
            #expect(throws: expected) { try arbiter.take(epoch: 1, for: .node("alpha")) }
            #expect(directoryNames(directory).isEmpty)
        }
    }

    @Test("a record that may not be read is unreadable, not free (failure injected)")
    func unreadableRecordByFault() throws {
        try withTemporaryDirectory { directory in
            _ = try DirectoryArbiter(directory: directory).take(epoch: 1, for: .node("alpha"))
            let recordPath = directory + "/epoch-00000000000000000001"
            let arbiter = DirectoryArbiter(directory: directory, fault: { call, path in
                call == "open" && path == recordPath ? EACCES : nil
            })
            let expected = ArbiterError.unreadable(path: recordPath, reason: "Permission denied")
            #expect(throws: expected) { try arbiter.current() }
            #expect(throws: expected) { try arbiter.take(epoch: 1, for: .node("beta")) }
        }
    }

    @Test("a directory without write permission is read-only", .enabled(if: !isRoot, "root bypasses permission bits"))
    func readOnlyDirectoryByPermission() throws {
        try withTemporaryDirectory { directory in
            chmod(directory, 0o555)
            defer { chmod(directory, 0o700) }
            let arbiter = DirectoryArbiter(directory: directory)
            let current = try arbiter.current()
            #expect(current == nil, "reading still works")
            #expect(throws: ArbiterError.readOnly(path: directory)) { try arbiter.take(epoch: 1, for: .node("a")) }
        }
    }

    @Test("a read-only file system takes nothing (failure injected, so it also runs as root)")
    func readOnlyFileSystemByFault() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory, fault: { call, path in
                call == "open" && path.contains("/tmp-") ? EROFS : nil
            })
            #expect(throws: ArbiterError.readOnly(path: directory)) { try arbiter.take(epoch: 1, for: .node("a")) }
            #expect(directoryNames(directory).isEmpty)
            let current = try arbiter.current()
            #expect(current == nil)
        }
    }

    @Test("a failed directory sync after the link is an unknown answer, and the epoch stays taken")
    func failedDirectorySync() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory, fault: { call, path in
                call == "fsync" && path == directory ? EIO : nil
            })
            #expect(throws: ArbiterError.ioFailed(call: "fsync", path: directory, errno: EIO)) {
                try arbiter.take(epoch: 1, for: .node("alpha"))
            }
            let healthy = DirectoryArbiter(directory: directory)
            let retry = try healthy.take(epoch: 1, for: .node("beta"))
            #expect(retry.winner?.claim.nodeName == "alpha")
            let next = try healthy.take(epoch: 2, for: .node("beta"))
            #expect(next.grantedRecord != nil)
        }
    }

    // MARK: Corrupt records

    /// Ways a record file can go bad, each planted over a valid record of epoch 2 (epoch 1 stays valid).
    enum Corruption: String, CaseIterable, CustomTestStringConvertible {
        case garbage, empty, truncated, editedByte, wrongEpochForName, newerFormat, directoryInstead

        var testDescription: String { rawValue }

        func plant(in directory: String) throws {
            let path = directory + "/epoch-00000000000000000002"
            let valid = try readFile(path)
            switch self {
            case .garbage:
                try writeFile(path, Array("\u{1}\u{2}not a record at all\u{FF}".utf8))
            case .empty:
                try writeFile(path, [])
            case .truncated:
                try writeFile(path, Array(valid.prefix(valid.count / 2)))
            case .editedByte:
                // "node beta" becomes "node beto": still well formed, only the checksum can tell.
                var edited = valid
                let index = try #require(edited.indices.first { Array(edited[$0...].prefix(4)) == Array("beta".utf8) })
                edited[index + 3] = UInt8(ascii: "o")
                try writeFile(path, edited)
            case .wrongEpochForName:
                try writeFile(path, try readFile(directory + "/epoch-00000000000000000001"))
            case .newerFormat:
                try writeFile(path, Array("lockstep-arbiter 2\nepoch 2\n".utf8))
            case .directoryInstead:
                unlink(path)
                mkdir(path, 0o755)
            }
        }
    }

    @Test("a corrupt record makes current throw and its epoch is never granted", arguments: Corruption.allCases)
    func corruptRecord(corruption: Corruption) throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory)
            _ = try arbiter.take(epoch: 1, for: .node("alpha"))
            _ = try arbiter.take(epoch: 2, for: .node("beta"))
            try corruption.plant(in: directory)
            let path = directory + "/epoch-00000000000000000002"

            #expect(throws: ArbiterError.self) { try arbiter.current() }
            #expect(isCorruptRecord(at: path) { try arbiter.current() })
            for epoch: UInt64 in [1, 2] {
                #expect(isCorruptRecord(at: path) { try arbiter.take(epoch: epoch, for: .node("gamma")) })
            }
            #expect(directoryNames(directory) == ["epoch-00000000000000000001", "epoch-00000000000000000002"])
        }
    }

    @Test("a name shaped like an epoch file whose number overflows is corrupt, not ignored")
    func overflowingEpochName() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/epoch-99999999999999999999", [])
            let arbiter = DirectoryArbiter(directory: directory)
            #expect(isCorruptRecord(at: directory + "/epoch-99999999999999999999") { try arbiter.current() })
            #expect(isCorruptRecord(at: directory + "/epoch-99999999999999999999") {
                try arbiter.take(epoch: 1, for: .node("alpha"))
            })
        }
    }

    // MARK: Files that are not records

    @Test("unrelated files and fresh temporary files are ignored; abandoned temporary files are removed")
    func foreignAndTemporaryFiles() throws {
        try withTemporaryDirectory { directory in
            let foreign = ["README", "epoch-5", "epoch-0000000000000000000x", "tmp-fresh-1-abc", "tmp-old-2-def"]
            for name in foreign { try writeFile(directory + "/" + name, Array("not ours\n".utf8)) }
            // Two minutes old: well past staleTemporaryAge.
            var times = [timespec](repeating: timespec(tv_sec: Int(nowMilliseconds() / 1000) - 120, tv_nsec: 0),
                                   count: 2)
            #expect(utimensat(AT_FDCWD, directory + "/tmp-old-2-def", &times, 0) == 0)

            let arbiter = DirectoryArbiter(directory: directory)
            #expect(try arbiter.current() == nil)
            #expect(try arbiter.take(epoch: 1, for: .node("alpha")).grantedRecord != nil)
            #expect(try arbiter.current()?.claim.nodeName == "alpha")
            let expected = ["README", "epoch-00000000000000000001", "epoch-0000000000000000000x", "epoch-5",
                            "tmp-fresh-1-abc"]
            #expect(directoryNames(directory) == expected)
        }
    }

    // MARK: Reset

    @Test("reset retires every record, corrupt ones included, and epoch 1 can be taken again")
    func resetRetiresRecords() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory)
            #expect(try arbiter.reset() == nil, "nothing to retire in an unused directory")
            for (epoch, name) in [(1, "alpha"), (2, "beta"), (3, "alpha")] {
                _ = try arbiter.take(epoch: UInt64(epoch), for: .node(name))
            }
            try writeFile(directory + "/epoch-00000000000000000003", Array("garbage".utf8))

            let retired = try #require(try arbiter.reset())
            #expect(retired.hasPrefix(directory + "/retired-"))
            #expect(directoryNames(retired) == (1...3).map { DirectoryArbiter.fileName(ofEpoch: $0) })
            #expect(try arbiter.current() == nil)
            let fresh = try #require(try arbiter.take(epoch: 1, for: .node("gamma")).grantedRecord)
            #expect(try arbiter.current() == fresh)
            #expect(try arbiter.take(epoch: 1, for: .node("alpha")) == .lost(to: fresh))
        }
    }

    @Test("a second reset in the same millisecond picks another folder")
    func resetTwice() throws {
        try withTemporaryDirectory { directory in
            let arbiter = DirectoryArbiter(directory: directory)
            _ = try arbiter.take(epoch: 1, for: .node("alpha"))
            let first = try #require(try arbiter.reset())
            _ = try arbiter.take(epoch: 1, for: .node("beta"))
            let second = try #require(try arbiter.reset())
            #expect(first != second)
            #expect(directoryNames(first) == ["epoch-00000000000000000001"])
            #expect(directoryNames(second) == ["epoch-00000000000000000001"])
        }
    }

    /// True when `body` throws `.corruptRecord` for exactly `path`; the reason is free text.
    private func isCorruptRecord<R>(at path: String, _ body: () throws -> R) -> Bool {
        do {
            _ = try body()
            return false
        } catch {
            if case .corruptRecord(path, _)? = error as? ArbiterError { return true }
            Issue.record("expected corruptRecord(\(path)), got \(error)")
            return false
        }
    }
}
