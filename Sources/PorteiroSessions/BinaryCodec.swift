/// A compact, versioned binary layout for values sealed into cookies: varint lengths and
/// big-endian integers. Smaller and far cheaper to decode per request than JSON; the seal's
/// authentication tag guarantees the bytes are ours, the decoder still checks every length.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    init(version: UInt8) {
        bytes.reserveCapacity(2048)
        bytes.append(version)
    }

    mutating func write(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func write(_ value: Int64) {
        write(UInt64(bitPattern: value))
    }

    mutating func write(_ text: String) {
        write(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    mutating func write(_ list: [String]) {
        write(UInt64(list.count))
        list.forEach { write($0) }
    }

    mutating func write(optional text: String?) {
        write(text ?? "")
    }
}

struct BinaryReader {
    private let bytes: [UInt8]
    private var index: Int

    /// Nil unless the first byte is `version`.
    init?(_ bytes: [UInt8], version: UInt8) {
        guard bytes.first == version else { return nil }
        self.bytes = bytes
        self.index = 1
    }

    var isAtEnd: Bool { index == bytes.count }

    mutating func uint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    mutating func int() -> Int64? {
        uint().map { Int64(bitPattern: $0) }
    }

    mutating func string() -> String? {
        guard let length = uint(), length <= UInt64(bytes.count - index) else { return nil }
        defer { index += Int(length) }
        return String(decoding: bytes[index..<index + Int(length)], as: UTF8.self)
    }

    mutating func strings() -> [String]? {
        guard let count = uint(), count <= UInt64(bytes.count - index) else { return nil }
        var list: [String] = []
        list.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let item = string() else { return nil }
            list.append(item)
        }
        return list
    }

    mutating func optionalString() -> String?? {
        guard let text = string() else { return nil }
        return .some(text.isEmpty ? nil : text)
    }
}

extension Session {
    /// 3 added the session id, the token's issue time and `email_verified`; 4 the last activity
    /// (`session.idle_timeout`), and 3 still opens (as last active at its creation). Earlier
    /// cookies do not open: their users log in once more (silently, while their IdP session lasts).
    static let formatVersion: UInt8 = 4
    static let oldestFormatVersion: UInt8 = 3

    /// The session's bytes, for sealing.
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(version: Session.formatVersion)
        writer.write(id)
        writer.write(subject)
        writer.write(user)
        writer.write(email)
        writer.write(UInt64(emailVerified ? 1 : 0))
        writer.write(groups)
        writer.write(roles)
        writer.write(accessToken)
        writer.write(optional: refreshToken)
        writer.write(optional: idToken)
        writer.write(optional: sid)
        writer.write(accessTokenExpiresAt)
        writer.write(accessTokenIssuedAt)
        writer.write(createdAt)
        writer.write(expiresAt)
        writer.write(UInt64(claims.count))
        for (path, values) in claims.sorted(by: { $0.key < $1.key }) {
            writer.write(path)
            writer.write(values)
        }
        writer.write(lastSeenAt)
        return writer.bytes
    }

    /// A session from opened bytes; nil when they are not a session of this format.
    public init?(decoding bytes: [UInt8]) {
        let version = bytes.first ?? 0
        guard (Session.oldestFormatVersion...Session.formatVersion).contains(version), var reader = BinaryReader(bytes, version: version),
            let id = reader.string(), let subject = reader.string(), let user = reader.string(), let email = reader.string(),
            let emailVerified = reader.uint(), emailVerified <= 1,
            let groups = reader.strings(), let roles = reader.strings(), let accessToken = reader.string(),
            let refreshToken = reader.optionalString(), let idToken = reader.optionalString(),
            let sid = reader.optionalString(), let accessTokenExpiresAt = reader.int(), let accessTokenIssuedAt = reader.int(),
            let createdAt = reader.int(), let expiresAt = reader.int(), let claimCount = reader.uint(), claimCount <= 64
        else { return nil }
        var claims: [String: [String]] = [:]
        for _ in 0..<claimCount {
            guard let path = reader.string(), let values = reader.strings() else { return nil }
            claims[path] = values
        }
        var lastSeenAt: Int64 = 0
        if version >= 4 {
            guard let seen = reader.int() else { return nil }
            lastSeenAt = seen
        }
        guard reader.isAtEnd else { return nil }
        self.init(
            id: id, subject: subject, user: user, email: email, emailVerified: emailVerified == 1, groups: groups,
            roles: roles, accessToken: accessToken, refreshToken: refreshToken, idToken: idToken, sid: sid,
            accessTokenExpiresAt: accessTokenExpiresAt, accessTokenIssuedAt: accessTokenIssuedAt, createdAt: createdAt,
            expiresAt: expiresAt, claims: claims, lastSeenAt: lastSeenAt)
    }
}
