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
