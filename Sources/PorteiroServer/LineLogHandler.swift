#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Foundation
public import Logging
public import PorteiroConfig
import PorteiroRouting

/// One line per event on standard error, as logfmt or JSON (`logging.format`), so log shippers
/// (Loki, Fluent Bit, CloudWatch) parse the access log without a custom pattern. The message and
/// every metadata value are escaped: nothing from a request can start a forged line.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let format: LoggingConfig.Format

    public init(level: Logger.Level, format: LoggingConfig.Format) {
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = event.metadata ?? [:]
        if !metadata.isEmpty { all.merge(metadata) { event, _ in event } }
        Self.writeToStandardError(Self.line(time: Date(), level: event.level, message: "\(event.message)", metadata: all, format: format))
    }

    /// One `write(2)` per line, before the request's answer is sent: a line is on disk by the time
    /// its client has the response, and nothing is lost if the process is killed. (A buffered
    /// writer on a background thread would save the system call, but every reader of the log —
    /// an operator's `grep` right after a request, a test — would race its lines.)
    static func writeToStandardError(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            guard var next = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let written = write(STDERR_FILENO, next, left)
                if written > 0 {
                    next += written
                    left -= written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return  // standard error is gone: nothing else can take the line
                }
            }
        }
    }

    /// The line for one event, fields in a stable order: time, level, msg, then metadata by key.
    /// Built in one string (every request writes one: the access log).
    public static func line(time: Date, level: Logger.Level, message: String, metadata: Logger.Metadata, format: LoggingConfig.Format)
        -> String
    {
        var line = ""
        line.reserveCapacity(320)
        let json = format == .json
        var first = true
        func field(_ key: String, _ value: String) {
            if json {
                line += first ? "{\"" : ",\""
                line += jsonEscaped(key)
                line += "\":\""
                line += jsonEscaped(value)
                line += "\""
            } else {
                if !first { line += " " }
                line += key
                line += "="
                appendLogfmtValue(value, to: &line)
            }
            first = false
        }
        field("time", timestamp(time))
        field("level", level.rawValue)
        field("msg", message)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) { field(key, value.description) }
        line += json ? "}\n" : "\n"
        return line
    }

    /// `2026-12-07T19:40:15Z` (UTC, whole seconds): Foundation's ISO 8601 format style, without
    /// its cost on every request's line.
    static func timestamp(_ time: Date) -> String {
        var seconds = time_t(time.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// A logfmt value: bare when it is printable ASCII without `"`, `=` or a backslash, else quoted and escaped.
    private static func appendLogfmtValue(_ value: String, to line: inout String) {
        let plain = !value.isEmpty && value.utf8.allSatisfy {
            $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "\\")
        }
        if plain {
            line += value
        } else {
            line += "\""
            line += jsonEscaped(value)
            line += "\""
        }
    }
}
