/// `DEBUG PROTOCOL <type>`: one reply of each RESP type, as Redis 7.0 writes it for a connection's protocol, so that
/// client libraries (and Redis's own `unit/protocol` tests) can check their parsers against the node.
extension KeyValueFrontend {
    /// The reply for `type` in `protocolVersion`: RESP3's own types in RESP3, Redis's RESP2 stand-ins otherwise
    /// (booleans as 1 and 0, doubles, big numbers and verbatim text as bulk strings, no attribute, no push).
    static func debugProtocol(_ type: [UInt8], protocolVersion: Int) -> [UInt8] {
        let isRESP3 = protocolVersion >= 3
        func line(_ text: String) -> [UInt8] { Array((text + "\r\n").utf8) }
        if ASCII.equals(type, "string") { return RESPWriter.bulk("Hello World") }
        if ASCII.equals(type, "integer") { return RESPWriter.integer(12345) }
        if ASCII.equals(type, "double") { return isRESP3 ? line(",3.141") : RESPWriter.bulk("3.141") }
        if ASCII.equals(type, "bignum") {
            let digits = "1234567999999999999999999999999999999"
            return isRESP3 ? line("(" + digits) : RESPWriter.bulk(digits)
        }
        if ASCII.equals(type, "null") { return isRESP3 ? line("_") : Replies.nullBulk }
        if ASCII.equals(type, "array") || ASCII.equals(type, "set") {
            let header = isRESP3 && ASCII.equals(type, "set") ? "~3" : "*3"
            return line(header) + RESPWriter.integer(0) + RESPWriter.integer(1) + RESPWriter.integer(2)
        }
        if ASCII.equals(type, "map") {
            var reply = line(isRESP3 ? "%3" : "*6")
            for key in 0..<3 {
                reply += RESPWriter.integer(Int64(key)) + boolean(key == 1, isRESP3: isRESP3)
            }
            return reply
        }
        if ASCII.equals(type, "attrib") {
            let attribute = line("|1") + RESPWriter.bulk("key-popularity")
                + RESPWriter.array([RESPWriter.bulk("key:123"), RESPWriter.integer(90)])
            return (isRESP3 ? attribute : []) + RESPWriter.bulk("Some real reply following the attribute")
        }
        if ASCII.equals(type, "push") {
            guard isRESP3 else { return RESPWriter.error("ERR RESP2 is not supported by this command") }
            return line(">2") + RESPWriter.bulk("server-cpu-usage") + RESPWriter.integer(42)
                + RESPWriter.bulk("Some real reply following the push reply")
        }
        if ASCII.equals(type, "true") || ASCII.equals(type, "false") {
            return boolean(ASCII.equals(type, "true"), isRESP3: isRESP3)
        }
        if ASCII.equals(type, "verbatim") {
            let text = "This is a verbatim\nstring"
            return isRESP3 ? line("=\(text.utf8.count + 4)") + line("txt:" + text) : RESPWriter.bulk(text)
        }
        return RESPWriter.error(
            "ERR Wrong protocol type name. Please use one of the following: "
                + "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
    }

    private static func boolean(_ value: Bool, isRESP3: Bool) -> [UInt8] {
        isRESP3 ? Array((value ? "#t\r\n" : "#f\r\n").utf8) : RESPWriter.integer(value ? 1 : 0)
    }
}
