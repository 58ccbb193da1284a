#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address range in CIDR form (`10.0.0.0/8`, `::1`), used for `trusted_proxies`.
///
/// Matching compares raw address bytes, so the per-request check allocates nothing.
public struct IPRange: Sendable, Equatable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, already masked.
    public let network: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPRange.parseAddress(String(parts[0])) else { return nil }
        let maxPrefix = address.count * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...maxPrefix).contains(value) else { return nil }
            prefix = value
        }
        self.prefixLength = prefix
        self.network = IPRange.mask(address, prefix: prefix)
    }

    /// True when `address` (4 or 16 raw bytes) lies inside the range. IPv4-mapped IPv6 peers
    /// (`::ffff:10.1.2.3`, as dual-stack listeners report them) match IPv4 ranges.
    public func contains(_ address: some Collection<UInt8>) -> Bool {
        var bytes = Array(address)
        if bytes.count == 16, network.count == 4, bytes.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) {
            bytes = Array(bytes.suffix(4))
        }
        guard bytes.count == network.count else { return false }
        return IPRange.mask(bytes, prefix: prefixLength) == network
    }

    public var description: String {
        let text: String
        if network.count == 4 {
            text = network.map(String.init).joined(separator: ".")
        } else {
            text = stride(from: 0, to: 16, by: 2)
                .map { String(UInt16(network[$0]) << 8 | UInt16(network[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return "\(text)/\(prefixLength)"
    }

    private static func mask(_ bytes: [UInt8], prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = min(max(prefix - index * 8, 0), 8)
            return bits == 8 ? byte : byte & ~(UInt8.max >> bits)
        }
    }

    /// Parses a literal address with the C library's `inet_pton`, the reference parser.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
