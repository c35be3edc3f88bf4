import Glibc
import Testing

@testable import Durability

@Suite("markers: small records replaced atomically")
struct DurableMarkersTests {
    @Test("each kind reads back what was last written, nil before the first write and after removal")
    func roundTrip() throws {
        try withTemporaryDirectory { path in
            do {  // the first opening releases the directory at the end of this scope
                let markers = DurableMarkers(try DataDirectory(path: path))
                #expect(try markers.read(.ownedEpoch) == nil)
                try markers.write(.ownedEpoch(epoch: 4, persistedBeforeReleasing: true))
                try markers.write(.protecting(epoch: 5, fromSequence: 1_234))
                try markers.write(.ownedEpoch(epoch: 6, persistedBeforeReleasing: false))
            }
            let reopened = DurableMarkers(try DataDirectory(path: path))
            #expect(try reopened.read(.ownedEpoch) == .ownedEpoch(epoch: 6, persistedBeforeReleasing: false))
            #expect(try reopened.read(.protecting) == .protecting(epoch: 5, fromSequence: 1_234))
            try reopened.remove(.protecting)
            try reopened.remove(.protecting)
            #expect(try reopened.read(.protecting) == nil)
            #expect(names(in: path + "/markers") == ["owned-epoch"])
        }
    }

    @Test("a byte flipped anywhere, a cut or an extra byte in a marker is a typed error")
    func corruptMarker() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            let markers = DurableMarkers(directory)
            try markers.write(.protecting(epoch: 2, fromSequence: 99))
            let file = directory.markersPath + "/protecting"
            let bytes = try readFile(file)
            #expect(bytes.count == DurableMarkers.fileBytes)
            var damaged = [Array(bytes.dropLast()), bytes + [0], []]
            for index in bytes.indices {
                var flipped = bytes
                flipped[index] ^= 0x10
                damaged.append(flipped)
            }
            for (index, variant) in damaged.enumerated() {
                try writeFile(file, variant)
                do throws(DurabilityError) {
                    let marker = try markers.read(.protecting)
                    Issue.record("variant \(index) read as \(String(describing: marker))")
                } catch {
                    #expect(error.code == "corrupt_marker", "variant \(index): \(error)")
                }
            }
        }
    }

    @Test("a replace interrupted before its rename leaves the old marker, and the .tmp goes at the next open")
    func interruptedReplace() throws {
        try withTemporaryDirectory { path in
            try DurableMarkers(DataDirectory(path: path)).write(.ownedEpoch(epoch: 3, persistedBeforeReleasing: true))
            let leftover = path + "/markers/owned-epoch.tmp"
            try writeFile(leftover, Array("LKMK".utf8))
            let reopened = try DataDirectory(path: path)
            #expect(reopened.notes == [.temporaryFileRemoved(path: leftover)])
            #expect(try DurableMarkers(reopened).read(.ownedEpoch) == .ownedEpoch(epoch: 3, persistedBeforeReleasing: true))
        }
    }
}
