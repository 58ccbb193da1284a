/// The cookies of a request's `Cookie` header(s), by name. A name sent twice keeps its first
/// value (browsers send the most specific cookie first) and is listed in `conflictingNames` when
/// the values differ: a cookie planted at a longer `Path` or a parent `Domain` (cookie tossing)
/// arrives first, so for a session cookie that is no case for "first wins".
///
/// Parsed over UTF-8 bytes, not `Character`s: a signed-in request carries a 2 KiB cookie, and
/// grapheme-aware splitting of it cost ~40 µs per request where this takes well under one.
public struct CookieHeader: Sendable {
    public private(set) var values: [String: Substring] = [:]
    /// Names sent more than once with different values.
    public private(set) var conflictingNames: [String] = []

    public init(_ headerValues: [String]) {
        for header in headerValues {
            Self.forEachPair(in: header) { name, value, _ in
                let key = String(name)
                if let first = values[key] {
                    if first != value, !conflictingNames.contains(key) { conflictingNames.append(key) }
                } else {
                    values[key] = value
                }
            }
        }
    }

    public subscript(name: String) -> Substring? { values[name] }

    /// Names that start with `prefix`, e.g. every chunk or every login-state cookie.
    public func names(withPrefix prefix: String) -> [String] {
        values.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Calls `body` with each `name=value` pair of one header value, in order: the name without
    /// leading spaces, the value without trailing spaces, and the whole trimmed pair. Pieces
    /// without `=` are skipped. The bytes are scanned through a buffer pointer (a 2 KiB header
    /// in a fraction of a microsecond); the pieces handed out share the header's storage.
    public static func forEachPair(in header: String, _ body: (_ name: Substring, _ value: Substring, _ pair: Substring) -> Void) {
        var header = header
        header.makeContiguousUTF8()
        let pairs = header.utf8.withContiguousStorageIfAvailable(pairOffsets) ?? []
        let utf8 = header.utf8
        func index(_ offset: Int) -> String.Index { utf8.index(utf8.startIndex, offsetBy: offset) }
        for (nameStart, equals, valueEnd) in pairs {
            let (start, separator, end) = (index(nameStart), index(equals), index(valueEnd))
            body(header[start..<separator], header[utf8.index(after: separator)..<end], header[start..<end])
        }
    }

    /// Offsets of (name start, `=`, value end) for each pair.
    private static func pairOffsets(_ bytes: UnsafeBufferPointer<UInt8>) -> [(Int, Int, Int)] {
        var pairs: [(Int, Int, Int)] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: ";") { end += 1 }
            var nameStart = start
            while nameStart < end, bytes[nameStart] == UInt8(ascii: " ") { nameStart += 1 }
            var equals = nameStart
            while equals < end, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
            if equals < end {
                var valueEnd = end
                while valueEnd > equals + 1, bytes[valueEnd - 1] == UInt8(ascii: " ") { valueEnd -= 1 }
                pairs.append((nameStart, equals, valueEnd))
            }
            start = end + 1
        }
        return pairs
    }
}
