import NIOHTTP1

/// Request ids: 16 hex digits. Each client connection draws a random 48-bit prefix once from the
/// system's cryptographic generator and numbers its requests after it, so ids from several
/// replicas do not collide in a shared log and no request pays a `getrandom` call.
struct RequestIDGenerator {
    private let prefix: UInt64
    private var counter: UInt64 = 0

    init() {
        var generator = SystemRandomNumberGenerator()
        prefix = (generator.next() as UInt64) << 16
    }

    mutating func next() -> String {
        counter &+= 1
        let hex = String(prefix | (counter & 0xffff), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension RequestIDGenerator {
    /// The client's `X-Request-Id`, kept only from a trusted proxy (so one request keeps one id
    /// through every hop) and only when it is a plain token that cannot forge a log line.
    static func accepted(from headers: HTTPHeaders, peer: HeaderRewriter.Peer) -> String? {
        guard peer.isTrusted, let value = headers.first(name: "x-request-id"), (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ isIDByte($0) })
        else { return nil }
        return value
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"):
            true
        default:
            false
        }
    }
}
