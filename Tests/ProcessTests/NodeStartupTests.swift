import Glibc
import Posix
import Testing

extension ProcessTests {
    /// `lockstep node` refuses what it cannot run, with a clear line and a documented exit code.
    @Suite struct NodeStartup {
        @Test("a busy client port stops the node at start with exit code 1 and says which port")
        func busyPort() throws {
            let directory = try Harness.temporaryDirectory("busy-port")
            defer { Harness.removeTree(directory) }
            let holder = try TCP.listen(on: .loopback(port: 0))
            defer { try? holder.close() }  // the test is over; nothing to report
            let busy = try TCP.localAddress(of: holder)
            let channel = try Harness.freePort(), peer = try Harness.freePort()
            let secret = try Harness.writeClusterSecret(directory + "/cluster-secret")

            let output = try Harness.run(
                try Harness.lockstepPath(),
                [
                    "node", "--name", "a", "--client", busy.description, "--channel", "127.0.0.1:\(channel)",
                    "--peer", "127.0.0.1:\(peer)", "--arbiter", directory, "--cluster-secret-file", secret,
                ], timeout: .seconds(20))
            print("lockstep node on a busy port: \(output.status); stderr: \(output.standardError)")
            #expect(output.status == .exited(code: 1))
            #expect(output.standardError.contains("already in use"), "\(output.standardError)")
            #expect(output.standardError.contains(busy.description), "\(output.standardError)")
        }

        @Test("a service device that does not exist stops the node at start with exit code 1, naming it")
        func missingServiceDevice() throws {
            let directory = try Harness.temporaryDirectory("missing-device")
            defer { Harness.removeTree(directory) }
            let client = try Harness.freePort(), channel = try Harness.freePort(), peer = try Harness.freePort()
            let secret = try Harness.writeClusterSecret(directory + "/cluster-secret")
            let output = try Harness.run(
                try Harness.lockstepPath(),
                [
                    "node", "--name", "a", "--client", "127.0.0.1:\(client)", "--channel", "127.0.0.1:\(channel)",
                    "--peer", "127.0.0.1:\(peer)", "--arbiter", directory, "--cluster-secret-file", secret,
                    "--service-address", "198.18.0.10/24", "--service-device", "nosuchdev0",
                ], timeout: .seconds(20))
            print("lockstep node with a missing service device: \(output.status); stderr: \(output.standardError)")
            #expect(output.status == .exited(code: 1))
            #expect(output.standardError.contains("no network device nosuchdev0"), "\(output.standardError)")
            #expect(output.standardError.contains("does not start"), "\(output.standardError)")
        }

        @Test("a bad flag is a usage error, exit code 2, before anything starts")
        func badFlag() throws {
            let lockstep = try Harness.lockstepPath()
            let unknown = try Harness.run(lockstep, ["node", "--name", "a", "--bogus", "1"])
            #expect(unknown.status == .exited(code: 2))
            #expect(unknown.standardError.contains("unknown flag --bogus"), "\(unknown.standardError)")

            let missing = try Harness.run(lockstep, ["node", "--name", "a", "--client", "127.0.0.1:7000"])
            #expect(missing.status == .exited(code: 2))
            #expect(missing.standardError.contains("--channel is required"), "\(missing.standardError)")

            let address = try Harness.run(
                lockstep,
                [
                    "node", "--name", "a", "--client", "127.0.0.1:99999", "--channel", "127.0.0.1:1",
                    "--peer", "127.0.0.1:2", "--arbiter", "/tmp",
                ])
            #expect(address.status == .exited(code: 2))
            #expect(address.standardError.contains("valid port"), "\(address.standardError)")

            let help = try Harness.run(lockstep, ["node", "--help"])
            #expect(help.status == .exited(code: 0))
            #expect(help.standardOutput.contains("--timeout MS"))
            #expect(help.standardOutput.contains("Exit codes"))
        }

        @Test("a missing arbiter directory is refused, not created")
        func missingArbiterDirectory() throws {
            let channel = try Harness.freePort(), client = try Harness.freePort()
            let directory = try Harness.temporaryDirectory("missing-arbiter")
            defer { Harness.removeTree(directory) }
            let secret = try Harness.writeClusterSecret(directory + "/cluster-secret")
            let output = try Harness.run(
                try Harness.lockstepPath(),
                [
                    "node", "--name", "a", "--client", "127.0.0.1:\(client)", "--channel", "127.0.0.1:\(channel)",
                    "--peer", "127.0.0.1:1", "--arbiter", "/nonexistent/lockstep-arbiter",
                    "--cluster-secret-file", secret,
                ], timeout: .seconds(20))
            #expect(output.status == .exited(code: 1))
            #expect(output.standardError.contains("does not exist"), "\(output.standardError)")
        }
    }
}
