import CShim
import Glibc
import Posix
import Synchronization
import Testing

@Suite("Posix wrappers", .serialized)
struct PosixTests {
    // MARK: Addresses

    @Test("an IPv4 HOST:PORT parses and prints back unchanged")
    func addressRoundTrip() throws {
        let address = try SocketAddress(parsing: "10.0.0.5:7000")
        #expect(address.ipv4 == 0x0A00_0005)
        #expect(address.port == 7000)
        #expect(address.description == "10.0.0.5:7000")
    }

    @Test("localhost means 127.0.0.1, and port 0 is allowed for listening")
    func localhostAndPortZero() throws {
        #expect(try SocketAddress(parsing: "localhost:0") == .loopback(port: 0))
        #expect(try SocketAddress(parsing: "0.0.0.0:65535") == SocketAddress(ipv4: 0, port: 65535))
    }

    @Test("malformed addresses give a typed error naming what is wrong")
    func malformedAddresses() {
        #expect(throws: SocketAddressError.missingPort("127.0.0.1")) { try SocketAddress(parsing: "127.0.0.1") }
        #expect(throws: SocketAddressError.invalidPort("1.2.3.4:")) { try SocketAddress(parsing: "1.2.3.4:") }
        #expect(throws: SocketAddressError.invalidPort("1.2.3.4:65536")) { try SocketAddress(parsing: "1.2.3.4:65536") }
        #expect(throws: SocketAddressError.invalidPort("1.2.3.4:+80")) { try SocketAddress(parsing: "1.2.3.4:+80") }
        for host in ["1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "a.b.c.d", "example.com", "[::1]", ":"] {
            #expect(throws: SocketAddressError.invalidHost("\(host):80")) { try SocketAddress(parsing: "\(host):80") }
        }
    }

    // MARK: Processes

    @Test("a spawned child's exit code comes back through a deadline-bounded wait")
    func spawnAndWait() throws {
        let success = try ChildProcess.spawn("/bin/true")
        #expect(try success.wait(timeout: .seconds(10)) == .exited(code: 0))
        let failure = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "exit 3"])
        #expect(try failure.wait(timeout: .seconds(10)) == .exited(code: 3))
        #expect(failure.exitStatus == .exited(code: 3))
    }

    @Test("a running child is still running at a short deadline, and SIGKILL ends it")
    func waitTimesOutThenKill() throws {
        let child = try ChildProcess.spawn("/bin/sleep", arguments: ["30"])
        defer { _ = try? child.terminate(signal: SIGKILL) }
        #expect(try child.wait(timeout: .milliseconds(50)) == nil)
        try child.signal(SIGKILL)
        #expect(try child.wait(timeout: .seconds(10)) == .signaled(signal: SIGKILL))
        try child.signal(SIGKILL)  // reaped: a no-op, never a stray signal to a reused pid
    }

    @Test("a child's stdout can go to a file, and the environment is passed as given")
    func outputToFileWithEnvironment() throws {
        let path = "/tmp/lockstep-posix-test-\(getpid()).out"
        defer { unlink(path) }
        let child = try ChildProcess.spawn(
            "/bin/sh", arguments: ["-c", "echo \"$GREETING\""], environment: ["GREETING=hello"],
            standardOutput: .file(path: path, append: false))
        #expect(try child.wait(timeout: .seconds(10)) == .exited(code: 0))
        let file = try FileDescriptor.open(path, flags: O_RDONLY)
        defer { try? file.close() }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = try bytes.withUnsafeMutableBytes { try file.read(into: $0) } ?? 0
        #expect(String(decoding: bytes[..<count], as: UTF8.self) == "hello\n")
    }

    @Test("spawning a missing executable is a typed error, not a crash")
    func spawnMissingExecutable() {
        #expect(throws: SystemError(call: "posix_spawn", errno: ENOENT)) {
            try ChildProcess.spawn("/nonexistent/lockstep-test-binary")
        }
    }

    // MARK: Event loop

    @Test("execute from another thread wakes a loop blocked in epoll_wait with nothing to do")
    func executeWakesIdleLoop() throws {
        let loop = try EventLoop()
        let thread = try loop.runOnNewThread()
        defer {
            loop.stop()
            thread.join()
            loop.shutdown()
        }
        sleep(for: .milliseconds(20))  // let it block: no descriptors, no timers, so the wait has no timeout
        let ranOnLoop = Atomic<Int>(0)
        let postedAt = monotonicNanoseconds()
        #expect(loop.execute { ranOnLoop.store(loop.isOnLoopThread ? 1 : 2, ordering: .releasing) })
        #expect(Waiting.until(.seconds(5)) { ranOnLoop.load(ordering: .acquiring) != 0 })
        let wakeMicroseconds = Double(monotonicNanoseconds() - postedAt) / 1e3
        print("eventfd wakeup of an idle loop: \(wakeMicroseconds) µs (including polling)")
        #expect(ranOnLoop.load(ordering: .acquiring) == 1, "the task must run on the loop thread")
    }

    @Test("stop from another thread ends run() promptly")
    func stopFromAnotherThread() throws {
        let loop = try EventLoop()
        let thread = try loop.runOnNewThread()
        sleep(for: .milliseconds(10))
        let stopped = Atomic<Bool>(false)
        let joiner = try PosixThread.spawn {
            thread.join()
            stopped.store(true, ordering: .releasing)
        }
        loop.stop()
        #expect(Waiting.until(.seconds(5)) { stopped.load(ordering: .acquiring) })
        joiner.join()
        loop.shutdown()
        #expect(loop.terminationError == nil)
    }

    @Test("timers fire in deadline order, never early, and a cancelled one never fires")
    func timersFireInOrder() throws {
        let loop = try EventLoop()
        let fired = Mutex<[String]>([])
        let start = monotonicNanoseconds()
        let lateness = Mutex<[UInt64]>([])
        func record(_ name: String, due: UInt64) {
            let now = monotonicNanoseconds()
            fired.withLock { $0.append(name) }
            lateness.withLock { $0.append(now >= due ? now - due : .max) }
        }
        let dueB = start + 30_000_000, dueA = start + 10_000_000, dueC = start + 20_000_000
        loop.schedule(at: dueB) { record("b", due: dueB) }
        loop.schedule(at: dueA) { record("a", due: dueA) }
        let cancelled = loop.schedule(at: dueC) { record("cancelled", due: dueC) }
        loop.cancel(cancelled)
        loop.schedule(at: dueB) { record("b2", due: dueB) }  // same deadline: scheduling order
        let thread = try loop.runOnNewThread()
        defer {
            loop.stop()
            thread.join()
            loop.shutdown()
        }
        #expect(Waiting.until(.seconds(5)) { fired.withLock { $0.count } == 3 })
        sleep(for: .milliseconds(30))
        #expect(fired.withLock { $0 } == ["a", "b", "b2"])
        #expect(lateness.withLock { $0 }.allSatisfy { $0 != .max }, "a timer fired before its deadline")
    }

    @Test("a loop that polls before sleeping still runs timers in order and never early, wakes for execute, stops")
    func pollingLoop() throws {
        let loop = try EventLoop()
        loop.pollBeforeSleep = EventLoop.pollBeforeSleepLimit
        let fired = Mutex<[String]>([])
        let start = monotonicNanoseconds()
        let early = Atomic<Int>(0)
        for (name, milliseconds) in [("b", 20), ("a", 5), ("c", 40)] {
            let due = start + UInt64(milliseconds) * 1_000_000
            loop.schedule(at: due) {
                if monotonicNanoseconds() < due { early.add(1, ordering: .relaxed) }
                fired.withLock { $0.append(name) }
            }
        }
        let thread = try loop.runOnNewThread()
        #expect(Waiting.until(.seconds(5)) { fired.withLock { $0.count } == 3 })
        #expect(fired.withLock { $0 } == ["a", "b", "c"])
        #expect(early.load(ordering: .relaxed) == 0, "a timer fired before its deadline")

        // Idle now: the poll ends within its limit and the loop sleeps, so a quarter second costs far less than a
        // quarter second of CPU (a loop that never stopped polling would use all of it).
        let idleCPU = Self.cpu(of: loop, over: .milliseconds(250))
        print("CPU of a polling loop over 250 ms idle: \(Double(idleCPU) / 1e6) ms")
        #expect(idleCPU < 100_000_000, "the loop kept polling while idle")

        loop.stop()
        thread.join()
        loop.shutdown()
        #expect(loop.terminationError == nil)
    }

    @Test("a polling loop that shares its CPU with a busy thread sleeps instead of polling in its pauses")
    func pollingYieldsToContention() throws {
        // Given a loop polling up to 1 ms before each sleep, woken every 2 ms by a timer, and a thread that works
        // 100 µs and pauses briefly, over and over, both pinned to CPU 0
        let loop = try EventLoop()
        loop.pollBeforeSleep = EventLoop.pollBeforeSleepLimit
        let isRunning = Atomic<Bool>(true)
        let isPinned = Atomic<Int>(0)
        @Sendable func tick() {
            guard isRunning.load(ordering: .relaxed) else { return }
            loop.schedule(at: monotonicNanoseconds() + 2_000_000) { tick() }
        }
        #expect(loop.execute {
            isPinned.add(cshim_pin_to_cpu(0) == 0 ? 1 : 0, ordering: .relaxed)
            tick()
        })
        let thread = try loop.runOnNewThread()
        defer {
            isRunning.store(false, ordering: .relaxed)
            loop.stop()
            thread.join()
            loop.shutdown()
        }
        let isWorking = Atomic<Bool>(true)
        let worker = try PosixThread.spawn {
            isPinned.add(cshim_pin_to_cpu(0) == 0 ? 1 : 0, ordering: .relaxed)
            while isWorking.load(ordering: .relaxed) {
                let until = monotonicNanoseconds() + 100_000
                while monotonicNanoseconds() < until {}
                usleep(20)
            }
        }
        defer {
            isWorking.store(false, ordering: .relaxed)
            worker.join()
        }
        #expect(Waiting.until(.seconds(5)) { isPinned.load(ordering: .relaxed) == 2 }, "could not pin to CPU 0")
        // When 300 ms pass
        sleep(for: .milliseconds(20))
        let loopCPU = Self.cpu(of: loop, over: .milliseconds(300))
        // Then the loop stopped polling at its first contended yield each round instead of polling through every
        // pause of the worker: 9–15 ms of CPU here, 64–69 ms with the check removed
        print("CPU of a polling loop beside a busy thread over 300 ms: \(Double(loopCPU) / 1e6) ms")
        #expect(loopCPU < 30_000_000, "the loop kept polling on a contended CPU")
    }

    /// The CPU time the thread running `loop` uses over `duration`, read on that thread before and after.
    private static func cpu(of loop: EventLoop, over duration: Duration) -> UInt64 {
        let cpuAt = Mutex<[UInt64]>([])
        func sample(_ count: Int) {
            #expect(loop.execute { cpuAt.withLock { $0.append(threadCPUNanoseconds()) } })
            #expect(Waiting.until(.seconds(5)) { cpuAt.withLock { $0.count } == count })
        }
        sample(1)
        sleep(for: duration)
        sample(2)
        return cpuAt.withLock { $0.count == 2 ? $0[1] - $0[0] : .max }
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    @Test("after-round tasks run after every handler of the round, once")
    func afterRoundRunsAfterHandlers() throws {
        let loop = try EventLoop()
        let order = Mutex<[String]>([])
        let thread = try loop.runOnNewThread()
        defer {
            loop.stop()
            thread.join()
            loop.shutdown()
        }
        #expect(loop.execute {
            loop.runAfterRound { order.withLock { $0.append("flush") } }
            order.withLock { $0.append("handler 1") }
        })
        #expect(Waiting.until(.seconds(5)) { order.withLock { $0.count } == 2 })
        #expect(order.withLock { $0 } == ["handler 1", "flush"])
    }

    @Test("a handled signal (SIGUSR1 here, SIGTERM in a node) reaches the loop thread as a call, not an exit")
    func signalReachesLoop() throws {
        let loop = try EventLoop()
        let received = Atomic<CInt>(0)
        try loop.handleSignals([SIGUSR1]) { received.store($0, ordering: .releasing) }
        let thread = try loop.runOnNewThread()
        defer {
            loop.stop()
            thread.join()
            loop.shutdown()
            Signals.restoreDefault(SIGUSR1)
        }
        kill(getpid(), SIGUSR1)
        #expect(Waiting.until(.seconds(5)) { received.load(ordering: .acquiring) == SIGUSR1 })
    }

    // MARK: Sockets

    @Test("a busy port gives SystemError(bind, EADDRINUSE) whose description says the port is in use")
    func busyPort() throws {
        let first = try TCP.listen(on: .loopback(port: 0))
        defer { try? first.close() }
        let taken = try TCP.localAddress(of: first)
        #expect(taken.port != 0)
        do {
            let second = try TCP.listen(on: taken)
            try? second.close()
            Issue.record("listening twice on \(taken) succeeded")
        } catch {
            #expect(error == SystemError(call: "bind", errno: EADDRINUSE))
            #expect(error.description.contains("in use"))
            #expect(error.description.contains("\(taken.port)"))
        }
    }

    @Test("connect, accept, send and read move bytes over loopback")
    func loopbackBytes() throws {
        let listener = try TCP.listen(on: .loopback(port: 0))
        defer { try? listener.close() }
        let client = try TCP.connect(to: TCP.localAddress(of: listener)).descriptor
        defer { try? client.close() }
        var server: FileDescriptor?
        #expect(Waiting.until(.seconds(5)) {
            server = try? TCP.accept(from: listener)
            return server != nil
        })
        guard let server else { return }
        defer { try? server.close() }
        #expect(Waiting.until(.seconds(5)) { (try? TCP.completeConnect(client)) != nil })
        #expect(try TCP.option(client, level: CInt(IPPROTO_TCP), name: TCP_NODELAY) == 1)
        #expect(try TCP.option(server, level: CInt(IPPROTO_TCP), name: TCP_NODELAY) == 1)
        let message: [UInt8] = Array("ping".utf8)
        let sent = try message.withUnsafeBytes { try client.send($0) }
        #expect(sent == 4)
        var buffer = [UInt8](repeating: 0, count: 16)
        var received: Int?
        #expect(Waiting.until(.seconds(5)) {
            received = try? buffer.withUnsafeMutableBytes { try server.read(into: $0) }
            return received != nil
        })
        #expect(received == 4)
        #expect(Array(buffer[..<4]) == message)
        #expect(try buffer.withUnsafeMutableBytes { try server.read(into: $0) } == nil, "nothing more: nil")
        try TCP.shutdownWrites(client)
        #expect(Waiting.until(.seconds(5)) {
            (try? buffer.withUnsafeMutableBytes { try server.read(into: $0) }) == 0
        }, "end of stream reads 0")
    }

    @Test("free ports are distinct, below the ephemeral range that outgoing connections draw from, and bindable")
    func freePorts() throws {
        let start = TCP.FreePorts.ephemeralRangeStart
        let ports = try TCP.FreePorts.distinct(8)
        #expect(Set(ports).count == 8)
        #expect(ports.allSatisfy { $0 >= TCP.FreePorts.lowestCandidate && $0 < start }, "\(ports) vs \(start)")
        for port in ports {
            let listener = try TCP.listen(on: .loopback(port: port))
            try listener.close()
        }

        let base = try TCP.FreePorts.base(offsets: [0, 1, 1_000])
        #expect(base >= TCP.FreePorts.lowestCandidate && base + 1_000 < start)
        // A held port is never offered.
        let held = try TCP.listen(on: .loopback(port: base))
        defer { try? held.close() }
        for _ in 0..<20 { #expect(try !TCP.FreePorts.distinct(50).contains(base)) }
    }

    @Test("readText returns a small file's text, at most the limit, and nil for a file that is not there")
    func readText() throws {
        let path = "/tmp/lockstep-posix-read-text-\(getpid())"
        defer { unlink(path) }
        let fd = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try Array("hello, file".utf8).withUnsafeBytes { try fd.writeAll($0) }
        try fd.close()
        #expect(FileDescriptor.readText(atPath: path) == "hello, file")
        #expect(FileDescriptor.readText(atPath: path, limitBytes: 5) == "hello")
        #expect(FileDescriptor.readText(atPath: path + "-missing") == nil)
    }
}
