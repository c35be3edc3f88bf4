import Foundation
import Posix

/// Real Prometheus tooling against a node's metrics port: Python's `urllib` fetches, and the text parser from PyPI's
/// `prometheus-client` (`text_string_to_metric_families`) reads what it fetched; a script the test writes prints
/// what they saw as JSON. The same script speaks raw bytes too, for the requests no proper client would send.
///
/// Nothing here reimplements the format: a figure the node renders wrong, the real parser reads wrong or refuses.
struct MetricsScraper {
    /// What a scrape returned.
    struct Scrape: Decodable {
        struct Family: Decodable {
            var name: String
            var type: String
            var help: String
            var samples: [Sample]
        }

        struct Sample: Decodable {
            var name: String
            var labels: [String: String]
            /// Nil for NaN, which JSON cannot say.
            var value: Double?
        }

        var status: Int
        var contentType: String?
        var wwwAuthenticate: [String]
        var families: [Family]

        enum CodingKeys: String, CodingKey {
            case status, families
            case contentType = "content_type"
            case wwwAuthenticate = "www_authenticate"
        }

        /// The value of the sample named `name` (a counter's with its `_total`) with exactly these labels.
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            families.lazy.flatMap(\.samples).first { $0.name == name && $0.labels == labels }?.value
        }

        /// Every sample named `name`.
        func samples(_ name: String) -> [Sample] {
            families.flatMap(\.samples).filter { $0.name == name }
        }
    }

    /// What a raw exchange returned: the response text, bytes sent before the server closed, and how long it took.
    struct Exchange: Decodable {
        var response: String
        var sent: Int
        var seconds: Double
    }

    static let script = #"""
        import base64, json, math, socket, sys, time, urllib.error, urllib.request
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError as error:
            print(json.dumps({"missing": str(error)}))
            sys.exit(3)

        def scrape(url, scheme=None, password_file=None):
            headers = {}
            if scheme:
                password = open(password_file, "rb").read().rstrip(b"\r\n")
                if scheme == "bearer":
                    headers["Authorization"] = "Bearer " + password.decode()
                else:
                    headers["Authorization"] = "Basic " + base64.b64encode(b"prometheus:" + password).decode()
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
                    status, content_type = response.status, response.headers.get("Content-Type")
                    body = response.read().decode("utf-8")
            except urllib.error.HTTPError as error:
                print(json.dumps({"status": error.code, "content_type": error.headers.get("Content-Type"),
                                  "www_authenticate": error.headers.get_all("WWW-Authenticate") or [],
                                  "families": []}))
                return
            families = [{"name": family.name, "type": family.type, "help": family.documentation,
                         "samples": [{"name": sample.name, "labels": sample.labels,
                                      "value": None if math.isnan(sample.value) else sample.value}
                                     for sample in family.samples]}
                        for family in text_string_to_metric_families(body)]
            print(json.dumps({"status": status, "content_type": content_type, "www_authenticate": [],
                              "families": families}))

        def raw(host, port, request_hex, interval_ms):
            request = bytes.fromhex(request_hex)
            connection = socket.create_connection((host, int(port)), timeout=15)
            start, sent = time.monotonic(), 0
            if int(interval_ms) == 0:
                connection.sendall(request)
                sent = len(request)
            else:
                # A byte at a time until the server answers or closes: sending on would draw a reset that may
                # discard its answer unread.
                import select
                for byte in request:
                    if select.select([connection], [], [], 0)[0]:
                        break
                    connection.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(int(interval_ms) / 1000)
            response = b""
            try:
                while True:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    response += chunk
            except ConnectionResetError:
                pass
            print(json.dumps({"response": response.decode("utf-8", "replace"), "sent": sent,
                              "seconds": time.monotonic() - start}))

        if sys.argv[1] == "scrape":
            scrape(*sys.argv[2:])
        else:
            raw(*sys.argv[2:])
        """#

    let python: String
    let scriptPath: String

    /// Writes the script into `directory`; fails, saying what to install, when Python or the parser is missing.
    init(directory: String) throws {
        python = try Self.findOnPath("python3")
        scriptPath = directory + "/scrape-metrics.py"
        let file = try FileDescriptor.open(scriptPath, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o600)
        defer { try? file.close() }  // written in full below, or the error is thrown
        try Array(Self.script.utf8).withUnsafeBytes { try file.writeAll($0) }
        let check = try Harness.run(python, ["-c", "import prometheus_client.parser"], timeout: .seconds(30))
        guard check.status == .exited(code: 0) else {
            throw HarnessError(
                "Python's prometheus_client module is missing (\(check.standardError.split(separator: "\n").last ?? "")):"
                    + " these tests read the metrics with the real Prometheus text parser. Install it with "
                    + "`python3 -m pip install prometheus-client` (.ci/run does this)")
        }
    }

    /// `GET http://ADDRESS/metrics`, with the password in `passwordFile` as `scheme` ("bearer" or "basic") if given.
    func scrape(_ address: SocketAddress, scheme: String? = nil, passwordFile: String? = nil) throws -> Scrape {
        var arguments = [scriptPath, "scrape", "http://\(address)/metrics"]
        if let scheme, let passwordFile { arguments += [scheme, passwordFile] }
        return try decode(Scrape.self, try run(arguments))
    }

    /// Sends `request` as it is (a byte every `interval` when given) and reads until the server closes.
    func exchange(_ address: SocketAddress, _ request: String, byteInterval: Duration = .zero) throws -> Exchange {
        let hex = request.utf8.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        let milliseconds = byteInterval.components.seconds * 1_000 + byteInterval.components.attoseconds / 1_000_000_000_000_000
        return try decode(
            Exchange.self,
            try run([scriptPath, "raw", address.host, String(address.port), hex, String(milliseconds)]))
    }

    private func run(_ arguments: [String]) throws -> String {
        let output = try Harness.run(python, arguments, timeout: .seconds(30))
        guard output.status == .exited(code: 0) else {
            throw HarnessError("the metrics script \(arguments.dropFirst().prefix(2)) ended \(output.status): "
                + "\(output.standardOutput)\(output.standardError)")
        }
        return output.standardOutput
    }

    private func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw HarnessError("the metrics script printed what is not the expected JSON (\(error)): \(text)")
        }
    }

    static func findOnPath(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where access("\(directory)/\(name)", X_OK) == 0 {
            return "\(directory)/\(name)"
        }
        throw HarnessError("\(name) is not on PATH: the metrics tests read the endpoint with Python's prometheus_client")
    }
}
