/// Request ids: 16 hex digits from the system's cryptographic generator. Random rather than a
/// counter, so ids from several replicas never collide in a shared log.
enum RequestID {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
