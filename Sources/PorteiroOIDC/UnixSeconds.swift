/// Times from outside (an IdP's `expires_in`, a token's `exp`) as Unix seconds, bounded.
///
/// `Int64(someDouble)` traps on NaN, infinity and anything past ±2^63, and a trap ends every
/// connection of the process. Every time value an IdP or a client sends goes through here instead.
public enum UnixSeconds {
    /// Year 9999: later than any real expiry, far below `Int64.max`, so sums with it cannot overflow.
    public static let latest: Int64 = 253_402_300_799

    /// `value` rounded down, when it is finite and within 0…`latest`; else nil.
    public static func bounded(_ value: Double) -> Int64? {
        guard value.isFinite, value >= 0, value <= Double(latest) else { return nil }
        return Int64(exactly: value.rounded(.down))
    }
}
