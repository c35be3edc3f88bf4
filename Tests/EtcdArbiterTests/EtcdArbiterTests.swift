import Arbiter
import Glibc
import Posix
import Synchronization
import Testing

@testable import EtcdArbiter

/// The etcd arbiter against a real etcd: the same contract as the directory arbiter, one owner per epoch.
@Suite("etcd arbiter", .serialized)
struct EtcdArbiterTests {
    @Test("an unused prefix has no current epoch")
    func emptyPrefixReadsNil() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        #expect(try server.arbiter(prefix: "cluster").current() == nil)
    }

    @Test("the first take of epoch 1 is granted, and current() then reads its record")
    func firstTakeIsGranted() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let arbiter = server.arbiter(prefix: "cluster")
        guard case .granted(let record) = try arbiter.take(epoch: 1, for: claim("a")) else {
            Issue.record("the first take of epoch 1 was not granted")
            return
        }
        #expect(record.epoch == 1 && record.claim == claim("a"))
        #expect(try arbiter.current() == record)
    }

    @Test("a second take of the same epoch loses to the first record")
    func secondTakeLoses() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let arbiter = server.arbiter(prefix: "cluster")
        let first = try arbiter.take(epoch: 1, for: claim("a"))
        guard case .granted(let winner) = first else {
            Issue.record("first take: \(first)")
            return
        }
        #expect(try arbiter.take(epoch: 1, for: claim("b")) == .lost(to: winner))
    }

    @Test("an epoch below the highest taken is refused, naming the highest")
    func epochBelowHighestLoses() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let arbiter = server.arbiter(prefix: "cluster")
        guard case .granted(let highest) = try arbiter.take(epoch: 5, for: claim("a")) else {
            Issue.record("take of epoch 5 on an empty prefix was not granted")
            return
        }
        #expect(try arbiter.take(epoch: 3, for: claim("b")) == .lost(to: highest))
        #expect(try arbiter.take(epoch: 5, for: claim("b")) == .lost(to: highest))
        #expect(try arbiter.current() == highest)
    }

    @Test("prefixes are separate clusters: epochs under one do not block another")
    func prefixesAreIndependent() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        _ = try server.arbiter(prefix: "one").take(epoch: 7, for: claim("a"))
        // "one/epoch" must not be read as a neighbour of "one/epochs" or "one-two": ranges end at the namespace.
        #expect(try server.arbiter(prefix: "one-two").current() == nil)
        #expect(try server.arbiter(prefix: "on").current() == nil)
        guard case .granted = try server.arbiter(prefix: "one-two").take(epoch: 1, for: claim("b")) else {
            Issue.record("epoch 1 under another prefix was not granted")
            return
        }
    }

    @Test("a corrupt record is never read as free: its epoch and those below it stay refused, with a typed error")
    func corruptRecordIsNeverFree() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let arbiter = server.arbiter(prefix: "corrupt")
        try put(Array("not a record\n".utf8), atEpoch: 5, in: arbiter)
        #expect { try arbiter.current() } throws: { error in (error as? ArbiterError)?.code == "corrupt_record" }
        #expect { try arbiter.take(epoch: 3, for: claim("a")) } throws: { error in
            (error as? ArbiterError)?.code == "corrupt_record"
        }
        guard case .granted = try arbiter.take(epoch: 6, for: claim("a")) else {
            Issue.record("epoch 6, above the corrupt record, was not granted")
            return
        }
    }

    /// Writes raw bytes as the record of `epoch`, bypassing the arbiter (what a hand edit or another tool does).
    func put(_ value: [UInt8], atEpoch epoch: UInt64, in arbiter: EtcdArbiter) throws {
        let key = EtcdArbiter.key(ofEpoch: epoch, prefix: arbiter.location.prefix)
        let request = EtcdJSON.encode(EtcdJSON.PutRequest(key: EtcdJSON.base64(key), value: EtcdJSON.base64(value)))
        _ = try arbiter.client.post("/v3/kv/put", body: request)
    }

    @Test("8 threads racing for each of 20 epochs: exactly one is granted each epoch")
    func racingTakesGrantOneOwnerPerEpoch() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let threadsCount = 8, epochsCount: UInt64 = 20
        let results = Mutex<[(thread: Int, epoch: UInt64, result: Result<TakeResult, ArbiterError>)]>([])
        var threads: [PosixThread] = []
        for index in 0..<threadsCount {
            let arbiter = server.arbiter(prefix: "race", requestTimeout: .seconds(5))
            threads.append(
                try PosixThread.spawn {
                    for epoch in 1...epochsCount {
                        let result = Result { () throws(ArbiterError) in
                            try arbiter.take(epoch: epoch, for: claim("node-\(index)"))
                        }
                        results.withLock { $0.append((index, epoch, result)) }
                    }
                })
        }
        for thread in threads { thread.join() }
        let all = results.withLock { $0 }
        #expect(all.count == threadsCount * Int(epochsCount))
        for entry in all {
            if case .failure(let error) = entry.result { Issue.record("thread \(entry.thread) epoch \(entry.epoch): \(error)") }
        }
        for epoch in 1...epochsCount {
            let grants = all.filter { $0.epoch == epoch }.compactMap { entry -> EpochRecord? in
                if case .success(.granted(let record)) = entry.result { return record }
                return nil
            }
            #expect(grants.count == 1, "epoch \(epoch) was granted \(grants.count) times: \(grants.map(\.claim.nodeName))")
            for entry in all where entry.epoch == epoch {
                if case .success(.lost(let holder)) = entry.result {
                    #expect(holder.epoch >= epoch, "a take of \(epoch) lost to the lower epoch \(holder.epoch)")
                }
            }
        }
        #expect(try server.arbiter(prefix: "race").current()?.epoch == epochsCount)
    }

    @Test("a dead first endpoint is skipped: the second, real one answers")
    func failsOverToTheNextEndpoint() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let deadPort = try TCP.FreePorts.distinct(1)[0]
        let location = EtcdLocation(endpoints: [.loopback(port: deadPort), server.clientAddress], prefix: "failover")
        let arbiter = EtcdArbiter(location: location, requestTimeout: .seconds(2))
        #expect(try arbiter.current() == nil)
        guard case .granted(let record) = try arbiter.take(epoch: 1, for: claim("a")) else {
            Issue.record("take through the second endpoint was not granted")
            return
        }
        #expect(try arbiter.current() == record)
    }

    @Test("an endpoint answering 503 (etcd without a leader) is skipped for the next one")
    func failsOverOn5xx() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let body = #"{"error":"etcdserver: no leader","code":14}"#
        let leaderless = try FakeHTTPServer(
            reply: Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
        defer { leaderless.stop() }
        let location = EtcdLocation(endpoints: [leaderless.address, server.clientAddress], prefix: "failover-5xx")
        guard case .granted = try EtcdArbiter(location: location).take(epoch: 1, for: claim("a")) else {
            Issue.record("take through the second endpoint was not granted")
            return
        }
        // Alone, the same endpoint is "unreachable": a 5xx says etcd cannot answer now, not that we asked wrong.
        let alone = EtcdArbiter(location: EtcdLocation(endpoints: [leaderless.address], prefix: "failover-5xx"))
        #expect { try alone.current() } throws: { error in (error as? ArbiterError)?.code == "unreachable" }
    }

    @Test("a stopped etcd is a typed 'unreachable' error, never a grant")
    func stoppedEtcdIsUnreachable() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let arbiter = server.arbiter(prefix: "stopped", requestTimeout: .milliseconds(500))
        _ = try arbiter.take(epoch: 1, for: claim("a"))
        server.stop()
        #expect { try arbiter.take(epoch: 2, for: claim("a")) } throws: { error in
            (error as? ArbiterError)?.code == "unreachable"
        }
        #expect { try arbiter.current() } throws: { error in (error as? ArbiterError)?.code == "unreachable" }
    }

    @Test("an endpoint that answers nonsense is a typed 'bad response' error")
    func garbageServerIsBadResponse() throws {
        let garbage = try FakeHTTPServer(reply: Array("SSH-2.0-OpenSSH_9.2\r\nnot http\r\n\r\n".utf8))
        defer { garbage.stop() }
        let arbiter = EtcdArbiter(location: EtcdLocation(endpoints: [garbage.address], prefix: "garbage"))
        #expect { try arbiter.take(epoch: 1, for: claim("a")) } throws: { error in
            (error as? ArbiterError)?.code == "bad_response"
        }
        #expect { try arbiter.current() } throws: { error in (error as? ArbiterError)?.code == "bad_response" }
    }

    @Test("an answer longer than the response limit is refused unread, as a 'bad response'")
    func oversizedAnswerIsBadResponse() throws {
        let size = EtcdArbiter.responseBytesLimit + 1
        let fake = try FakeHTTPServer(
            reply: Array("HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n".utf8) + [UInt8](repeating: 32, count: size))
        defer { fake.stop() }
        let arbiter = EtcdArbiter(location: EtcdLocation(endpoints: [fake.address], prefix: "big"))
        #expect { try arbiter.current() } throws: { error in
            guard case .badResponse(_, let reason) = error as? ArbiterError else { return false }
            return reason.contains("longer than")
        }
    }

    @Test("an HTTP 200 whose body is not etcd's JSON is a typed 'bad response' error")
    func nonJSONBodyIsBadResponse() throws {
        let body = "<html>hello</html>"
        let fake = try FakeHTTPServer(
            reply: Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
        defer { fake.stop() }
        let arbiter = EtcdArbiter(location: EtcdLocation(endpoints: [fake.address], prefix: "html"))
        #expect { try arbiter.take(epoch: 1, for: claim("a")) } throws: { error in
            (error as? ArbiterError)?.code == "bad_response"
        }
    }

    @Test("an endpoint that accepts and never answers costs one deadline, then is 'unreachable'")
    func hungEndpointTimesOut() throws {
        let hung = try FakeHTTPServer(reply: nil)
        defer { hung.stop() }
        let arbiter = EtcdArbiter(
            location: EtcdLocation(endpoints: [hung.address], prefix: "hung"), requestTimeout: .milliseconds(300))
        let clock = ContinuousClock()
        let started = clock.now
        #expect { try arbiter.take(epoch: 1, for: claim("a")) } throws: { error in
            (error as? ArbiterError)?.code == "unreachable"
        }
        let elapsed = clock.now - started
        #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(3), "took \(elapsed)")
    }
}

/// Parsing `--arbiter etcd://...`.
@Suite("etcd location")
struct EtcdLocationTests {
    @Test("endpoints in order and the prefix without its slashes")
    func parsesEndpointsAndPrefix() throws {
        let location = try EtcdLocation(parsing: "etcd://127.0.0.1:2379,10.0.0.2:2379/lockstep/prod/")
        #expect(location.endpoints == [.loopback(port: 2379), SocketAddress(ipv4: 0x0A00_0002, port: 2379)])
        #expect(location.prefix == "lockstep/prod")
        #expect(location.description == "etcd://127.0.0.1:2379,10.0.0.2:2379/lockstep/prod")
    }

    @Test("a missing prefix, a bad endpoint or a bad prefix is refused by name")
    func refusesMalformedLocations() {
        #expect(throws: EtcdLocationError.missingPrefix("etcd://127.0.0.1:2379")) {
            try EtcdLocation(parsing: "etcd://127.0.0.1:2379")
        }
        #expect(throws: EtcdLocationError.missingPrefix("etcd://127.0.0.1:2379/")) {
            try EtcdLocation(parsing: "etcd://127.0.0.1:2379/")
        }
        #expect(throws: EtcdLocationError.invalidPrefix("a b")) { try EtcdLocation(parsing: "etcd://127.0.0.1:1/a b") }
        #expect(throws: EtcdLocationError.invalidPrefix("a//b")) { try EtcdLocation(parsing: "etcd://127.0.0.1:1/a//b") }
        #expect { try EtcdLocation(parsing: "etcd://etcd.example:2379/x") } throws: { error in
            if case .invalidEndpoint("etcd.example:2379", _) = error as? EtcdLocationError { return true }
            return false
        }
        #expect { try EtcdLocation(parsing: "etcd://127.0.0.1:2379,/x") } throws: { error in
            if case .invalidEndpoint("", _) = error as? EtcdLocationError { return true }
            return false
        }
    }
}
