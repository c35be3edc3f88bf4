import Glibc
@testable import LockstepCLI
import Posix
import Runtime
import Testing

extension ProcessTests {
    /// `lockstep pair --metrics-port`: each node's Prometheus endpoint, fetched by Python's urllib and read by the
    /// real Prometheus text parser, agrees with the same node's INFO, follows a kill -9 failover, asks for the
    /// client password when there is one, and survives clients that break HTTP.
    @Suite struct Metrics {
        /// INFO's figures and a scrape's taken between two INFOs, for each node.
        struct Reading {
            var before: [String: String]
            var scrape: MetricsScraper.Scrape
            var after: [String: String]

            func number(_ field: String, _ info: [String: String]) -> Double? { info[field].flatMap(Double.init) }
        }

        static func read(_ pair: RunningPair, node: Int, scraper: MetricsScraper) throws -> Reading {
            let before = try #require(pair.info(pair.clients[node]), "node \(node) did not answer INFO")
            let scrape = try scraper.scrape(pair.metrics[node])
            let after = try #require(pair.info(pair.clients[node]), "node \(node) did not answer INFO")
            return Reading(before: before, scrape: scrape, after: after)
        }

        /// The scrape agrees with INFO: what cannot change between the two INFOs is equal, what only grows
        /// (sequences ride on the primary's ticks; every INFO is a client connection) lies between them.
        static func expectAgreement(_ reading: Reading, _ label: String) {
            let (before, scrape, after) = (reading.before, reading.scrape, reading.after)
            #expect(scrape.status == 200, "\(label): status \(scrape.status)")
            #expect(scrape.contentType == "text/plain; version=0.0.4; charset=utf-8", "\(label)")
            #expect(before["lockstep_role"] == after["lockstep_role"] && before["lockstep_epoch"] == after["lockstep_epoch"],
                "\(label): the role changed during the reading")
            let role = before["lockstep_role"] ?? "?"
            let roles = scrape.samples("lockstep_role")
            #expect(roles.compactMap { $0.labels["role"] } == ["primary", "solo", "backup", "joining", "stopped"],
                "\(label): role samples \(roles)")
            #expect(roles.filter { $0.value == 1 }.map { $0.labels["role"] } == [role], "\(label): roles \(roles)")
            #expect(scrape.value("lockstep_epoch") == reading.number("lockstep_epoch", before), "\(label) epoch")
            #expect(scrape.value("lockstep_node_info",
                ["name": before["lockstep_node_name"] ?? "?", "client_address": label]) == 1, "\(label) node_info")
            for (metric, field) in [
                ("lockstep_log_sequence", "lockstep_log_sequence"), ("lockstep_acked_sequence", "lockstep_acked_sequence"),
                ("lockstep_applied_sequence", "lockstep_applied_sequence"),
                ("lockstep_client_connections_accepted_total", "lockstep_client_connections_accepted"),
                ("lockstep_client_commands_total", "lockstep_client_commands"),
                ("lockstep_intake_pauses_total", "lockstep_intake_pauses"),
            ] {
                guard let value = scrape.value(metric), let low = reading.number(field, before),
                    let high = reading.number(field, after)
                else {
                    Issue.record("\(label): \(metric) or INFO's \(field) is missing")
                    continue
                }
                #expect(low <= value && value <= high, "\(label): \(metric) \(value) is not within INFO's \(low)...\(high)")
            }
            // Within one scrape: the lag is what was acked and not replayed; the unacked log what was logged and not acked.
            if let lag = scrape.value("lockstep_replay_lag_entries"), let acked = scrape.value("lockstep_acked_sequence"),
                let applied = scrape.value("lockstep_applied_sequence"), let log = scrape.value("lockstep_log_sequence"),
                let unacked = scrape.value("lockstep_unacked_entries")
            {
                #expect(lag == acked - applied, "\(label): lag \(lag), acked \(acked), applied \(applied)")
                #expect(unacked <= log - acked, "\(label): \(unacked) unacked, log \(log), acked \(acked)")
            } else {
                Issue.record("\(label): a sequence, the lag or the unacked log is missing")
            }
            // Role changes by typed reason: the same codes and counts as INFO's role_changes_<code>.
            let infoChanges = before.filter { $0.key.hasPrefix("lockstep_role_changes_") }
            let scrapedChanges = scrape.samples("lockstep_role_changes_total")
            #expect(scrapedChanges.count == infoChanges.count, "\(label): \(scrapedChanges) vs INFO \(infoChanges)")
            for sample in scrapedChanges {
                let code = sample.labels["reason"] ?? "?"
                #expect(sample.value == reading.number("lockstep_role_changes_" + code, before), "\(label): \(code)")
            }
            #expect(scrape.value("lockstep_failovers_total")
                == reading.number("lockstep_role_changes_primary_lost", before) ?? 0, "\(label) failovers")
        }

        @Test("each node's metrics agree with its INFO; after kill -9 the new primary counts a primary_lost change")
        func agreesWithInfoAcrossFailover() async throws {
            let pair = try await RunningPair.start("metrics", hasMetrics: true)
            defer { pair.stop(); pair.removeDirectory() }
            let scraper = try MetricsScraper(directory: pair.directory)
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(10))
            let writer = try RESPClient(address: primary, timeout: .seconds(2))
            for index in 0..<50 { _ = try writer.command(["SET", "metrics:\(index)", "v\(index)"]) }
            writer.close()
            _ = try await pair.waitForEqualDigests(deadline: .seconds(10))

            for node in 0..<2 {
                let reading = try Self.read(pair, node: node, scraper: scraper)
                Self.expectAgreement(reading, pair.clients[node].description)
                if pair.clients[node] == primary {
                    #expect((reading.scrape.value("lockstep_client_commands_total") ?? 0) >= 50)
                    #expect(reading.scrape.value("lockstep_peer_state", ["state": "connected"]) == 1)
                }
            }

            // Kill -9 the primary: the backup goes live at the next epoch and says why, in both places.
            let oldEpoch = try #require(pair.info(primary)?["lockstep_epoch"].flatMap { Double($0) })
            let primaryPID = try pair.nodePID(primary)
            #expect(kill(primaryPID, SIGKILL) == 0)
            let survivor = pair.clients.firstIndex(of: backup) ?? 1
            let isLive = try await Harness.waitUntil(.seconds(5)) {
                ["primary", "solo"].contains(pair.info(backup)?["lockstep_role"] ?? "")
            }
            #expect(isLive, "the backup did not go live\n\(pair.logTail())")
            // The supervisor restarts the killed node, which joins the survivor (solo -> primary): read once that is
            // over, so the role holds still between the two INFOs around the scrape.
            _ = try await pair.waitForProtectedPrimary(deadline: .seconds(15))
            let reading = try Self.read(pair, node: survivor, scraper: scraper)
            Self.expectAgreement(reading, backup.description)
            #expect(reading.scrape.value("lockstep_role_changes_total", ["reason": "primary_lost"]) == 1)
            #expect(reading.scrape.value("lockstep_failovers_total") == 1)
            #expect(reading.scrape.value("lockstep_epoch") == oldEpoch + 1, "\(reading.before)")
            print("after kill -9 the survivor's metrics say: epoch \(reading.scrape.value("lockstep_epoch") ?? -1), "
                + "role changes \(reading.scrape.samples("lockstep_role_changes_total").map { ($0.labels["reason"] ?? "", $0.value ?? -1) })")
        }

        @Test("with --requirepass-file the metrics need the password: 401 without it, 200 as Bearer and as Basic")
        func passwordProtected() async throws {
            let directory = try Harness.temporaryDirectory("metrics-auth")
            let password = "metrics-\(getpid())"
            let file = try StatusAuthentication.writePasswordFile(password, in: directory, named: "password")
            let wrong = try StatusAuthentication.writePasswordFile("not-" + password, in: directory, named: "wrong")
            let pair = try await RunningPair.start(
                "metrics-auth", directory: directory, hasMetrics: true, arguments: ["--requirepass-file", file],
                password: Array(password.utf8))
            defer { pair.stop(); pair.removeDirectory() }
            let scraper = try MetricsScraper(directory: directory)

            for metrics in pair.metrics {
                let refused = try scraper.scrape(metrics)
                #expect(refused.status == 401, "\(metrics): \(refused.status)")
                #expect(refused.wwwAuthenticate.contains { $0.hasPrefix("Basic realm=\"lockstep\"") }, "\(refused.wwwAuthenticate)")
                #expect(refused.wwwAuthenticate.contains { $0.hasPrefix("Bearer") })
                let refusedFamilies = refused.families.count
                #expect(refusedFamilies == 0, "a refused scrape carried metrics")
                for scheme in ["bearer", "basic"] {
                    #expect(try scraper.scrape(metrics, scheme: scheme, passwordFile: wrong).status == 401, "\(scheme)")
                    let scrape = try scraper.scrape(metrics, scheme: scheme, passwordFile: file)
                    #expect(scrape.status == 200, "\(metrics) with \(scheme): \(scrape.status)")
                    #expect(scrape.value("lockstep_epoch") == 1, "\(metrics) with \(scheme)")
                }
            }
            let refusals = try scraper.scrape(pair.metrics[0], scheme: "bearer", passwordFile: file)
            #expect(refusals.value("lockstep_metrics_refusals_total", ["code": "unauthorized"]) == 3)
            #expect(refusals.value("lockstep_metrics_scrapes_total") == 2)
            #expect(!pair.logTail(lines: 400).contains(password), "the password appeared in a log")
        }

        @Test("a malformed request hears 400 and a byte-at-a-time one is closed at the deadline; the node serves on")
        func badClients() async throws {
            let pair = try await RunningPair.start("metrics-bad", hasMetrics: true)
            defer { pair.stop(); pair.removeDirectory() }
            let scraper = try MetricsScraper(directory: pair.directory)
            let metrics = pair.metrics[0]

            let malformed = try scraper.exchange(metrics, "\u{16}\u{03}\u{01} hello\r\n\r\n")
            #expect(malformed.response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(malformed.response)")
            let wrongPath = try scraper.exchange(metrics, "GET /debug HTTP/1.1\r\n\r\n")
            #expect(wrongPath.response.hasPrefix("HTTP/1.1 404 "), "\(wrongPath.response)")
            let wrongMethod = try scraper.exchange(metrics, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            #expect(wrongMethod.response.hasPrefix("HTTP/1.1 405 "), "\(wrongMethod.response)")
            let oversized = "GET /metrics HTTP/1.1\r\nX-Filler: " + String(repeating: "x", count: 9_000) + "\r\n\r\n"
            #expect(try scraper.exchange(metrics, oversized).response.hasPrefix("HTTP/1.1 431 "))
            #expect(try scraper.scrape(metrics).status == 200, "the node stopped serving metrics after bad requests")

            // Long enough that a byte every 100 ms would take 20 s, four times the deadline.
            let slowRequest = "GET /metrics HTTP/1.1\r\nUser-Agent: " + String(repeating: "s", count: 160) + "\r\n\r\n"
            let deadline = RuntimeConfiguration.defaultMetricsRequestDeadline
            let slow = try scraper.exchange(metrics, slowRequest, byteInterval: .milliseconds(100))
            print("a byte-at-a-time client was closed after \(slow.seconds) s having sent \(slow.sent) bytes; it heard "
                + "\(slow.response.split(separator: "\r\n").first ?? "nothing")")
            let seconds = Double(deadline.components.seconds)
            #expect(slow.seconds >= seconds && slow.seconds < seconds + 2, "closed after \(slow.seconds) s")
            #expect(slow.sent < slowRequest.utf8.count)
            #expect(slow.response.hasPrefix("HTTP/1.1 408 "), "\(slow.response)")

            let after = try scraper.scrape(metrics)
            #expect(after.status == 200)
            for code in ["malformed", "not_found", "method_not_allowed", "head_too_large", "deadline_passed"] {
                #expect(after.value("lockstep_metrics_refusals_total", ["code": code]) == 1, "\(code)")
            }
            let client = try RESPClient(address: pair.clients[0], timeout: .seconds(2))
            #expect(try client.command(["PING"]) == .simpleString("PONG"))
        }
    }
}
