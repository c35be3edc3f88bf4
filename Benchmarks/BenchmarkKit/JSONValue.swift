/// A JSON document built in memory and rendered to text: the `--json` report.
///
/// Small on purpose: the harness stays Foundation-free like the rest of the I/O code (IO-FINDINGS, pitfall 7), and
/// the report only ever writes JSON. Object keys keep their insertion order so the file diffs well between runs.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

    /// A number, or null when absent or not finite (JSON has no NaN or infinity).
    public static func number(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    /// Compact JSON text, with one top-level key per line for readability when `pretty`.
    public func rendered(pretty: Bool = false) -> String {
        var text = ""
        render(into: &text, pretty: pretty, depth: 0)
        return text
    }

    private func render(into text: inout String, pretty: Bool, depth: Int) {
        switch self {
        case .null:
            text += "null"
        case .bool(let value):
            text += value ? "true" : "false"
        case .number(let value):
            text += Self.format(value)
        case .string(let value):
            Self.quote(value, into: &text)
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                if pretty && depth == 0 { text += "\n  " }
                value.render(into: &text, pretty: pretty, depth: depth + 1)
            }
            text += "]"
        case .object(let fields):
            text += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { text += "," }
                if pretty && depth == 0 { text += "\n  " }
                Self.quote(key, into: &text)
                text += ":"
                value.render(into: &text, pretty: pretty, depth: depth + 1)
            }
            if pretty && depth == 0 && !fields.isEmpty { text += "\n" }
            text += "}"
        }
    }

    /// Integers without a fraction; others with up to 4 decimals, which is finer than anything measured here.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let scaled = (value * 10_000).rounded() / 10_000
        return "\(scaled)"
    }

    private static func quote(_ string: String, into text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}
