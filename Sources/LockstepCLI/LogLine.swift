import Glibc
import Posix

/// Log lines on stderr: `2026-11-23T17:20:01.123Z [a] backup -> primary at epoch 4: ...`.
///
/// The ISO timestamp (UTC, milliseconds) lets lines from two machines be merged by sorting; the node name tells
/// `pair`'s two children apart, since both write to the same terminal. Each line goes out in one `write(2)`,
/// so lines from the runtime's threads, or from two children sharing a pipe, never interleave mid-line (pipes
/// keep writes up to PIPE_BUF, 4 KiB, whole).
enum LogLine {
    /// Longest line written; a longer message is cut so the single write stays within PIPE_BUF.
    static let lineBytesLimit = 4_000

    /// Writes one line for `source` (a node name, or `pair`) to stderr.
    static func write(_ source: String, _ message: String) {
        var line = format(source: source, message: message, wallClockNanoseconds: wallClockNanoseconds())
        if line.utf8.count > lineBytesLimit {
            line = String(decoding: line.utf8.prefix(lineBytesLimit - 4), as: UTF8.self) + "...\n"
        }
        writeStandardError(line)
    }

    /// The line without writing it, for tests: timestamp, `[source]`, the message with newlines flattened.
    static func format(source: String, message: String, wallClockNanoseconds: Int64) -> String {
        let flat = message.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).joined(separator: " ")
        return "\(isoTimestamp(wallClockNanoseconds: wallClockNanoseconds)) [\(source)] \(flat)\n"
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
    static func isoTimestamp(wallClockNanoseconds nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        let milliseconds = Int((nanoseconds % 1_000_000_000) / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(padded(Int(parts.tm_year) + 1900, 4))-\(padded(Int(parts.tm_mon) + 1, 2))-"
            + "\(padded(Int(parts.tm_mday), 2))T\(padded(Int(parts.tm_hour), 2)):\(padded(Int(parts.tm_min), 2)):"
            + "\(padded(Int(parts.tm_sec), 2)).\(padded(milliseconds, 3))Z"
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// Writes `text` to stderr in as few `write(2)` calls as the kernel allows; errors are dropped (there is
/// nowhere left to report them).
func writeStandardError(_ text: String) {
    write(text, to: FileDescriptor.standardError)
}

/// Writes `text` to stdout the same way: for the output a user asked for (help, tables, addresses).
func writeStandardOutput(_ text: String) {
    write(text, to: FileDescriptor.standardOutput)
}

private func write(_ text: String, to descriptor: FileDescriptor) {
    var text = text
    text.withUTF8 { bytes in
        // A closed or full stream cannot be reported anywhere, so the error is dropped.
        try? descriptor.writeAll(UnsafeRawBufferPointer(bytes))
    }
}
