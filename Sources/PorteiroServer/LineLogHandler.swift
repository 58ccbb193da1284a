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
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let line = Self.line(
            time: Date(), level: event.level, message: "\(event.message)", metadata: all, format: format)
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The line for one event, fields in a stable order: time, level, msg, then metadata by key.
    public static func line(time: Date, level: Logger.Level, message: String, metadata: Logger.Metadata, format: LoggingConfig.Format)
        -> String
    {
        let fields = [("time", time.formatted(.iso8601)), ("level", level.rawValue), ("msg", message)]
            + metadata.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        switch format {
        case .json:
            return "{" + fields.map { "\"\(jsonEscaped($0.0))\":\"\(jsonEscaped($0.1))\"" }.joined(separator: ",") + "}\n"
        case .logfmt:
            return fields.map { "\($0.0)=\(logfmtValue($0.1))" }.joined(separator: " ") + "\n"
        }
    }

    private static func logfmtValue(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7f }
        return plain ? value : "\"" + jsonEscaped(value) + "\""
    }
}
