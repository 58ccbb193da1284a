/// A set of header names compared the way the apps behind Porteiro compare them: ASCII case
/// folded, and `_` the same as `-`. WSGI, CGI, PHP and Rack servers hand an app both
/// `X-Forwarded-User` and `X_Forwarded_User` as `HTTP_X_FORWARDED_USER`, so stripping one spelling
/// and passing the other lets a client become anyone (oauth2-proxy's CVE-2025-64484).
///
/// Lookup allocates nothing: names are bucketed by length (an array index) and compared byte by byte.
public struct HeaderNameSet: Sendable {
    /// `buckets[n]`: the folded names of `n` bytes.
    private var buckets: [[[UInt8]]] = []

    public init<Names: Sequence>(_ names: Names) where Names.Element == String {
        for name in names { insert(name) }
    }

    public mutating func insert(_ name: String) {
        let folded = name.utf8.map(Self.fold)
        if buckets.count <= folded.count {
            buckets.append(contentsOf: repeatElement([], count: folded.count + 1 - buckets.count))
        }
        guard !buckets[folded.count].contains(folded) else { return }
        buckets[folded.count].append(folded)
    }

    public func contains(_ name: String) -> Bool {
        let count = name.utf8.count
        guard count < buckets.count else { return false }
        return buckets[count].contains { candidate in
            var index = 0
            for byte in name.utf8 {
                guard Self.fold(byte) == candidate[index] else { return false }
                index += 1
            }
            return true
        }
    }

    static func fold(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte | 0x20
        case UInt8(ascii: "_"): UInt8(ascii: "-")
        default: byte
        }
    }
}
