/// Any JSON value found in a token or userinfo response, so claims can be read at configurable
/// dotted paths (`realm_access.roles`, `resource_access.portal.roles`).
public enum ClaimValue: Sendable, Equatable, Codable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([ClaimValue])
    case object([String: ClaimValue])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ClaimValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// The value at a dotted path inside an object.
    public func value(at path: String) -> ClaimValue? {
        var current = self
        for key in path.split(separator: ".") {
            guard case .object(let members) = current, let next = members[String(key)] else { return nil }
            current = next
        }
        return current
    }

    /// A string claim, or a whole number written as one (`employee_number: 1234`). A number too
    /// large for an exact integer has no string form here: `Int64(value)` of 1e30 would trap.
    public var string: String? {
        switch self {
        case .string(let value): return value
        case .number: return integer.map { String($0) }
        default: return nil
        }
    }

    /// A whole number that a `Double` holds exactly (|n| ≤ 2^53), else nil.
    public var integer: Int64? {
        guard case .number(let value) = self, let exact = Int64(exactly: value), exact.magnitude <= UInt64(Self.maxExactInteger)
        else { return nil }
        return exact
    }

    static let maxExactInteger: Int64 = 1 << 53

    /// A list of strings; a single value counts as a list of one.
    public var strings: [String] {
        if case .array(let items) = self { return items.compactMap(\.string) }
        return string.map { [$0] } ?? []
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// A time claim (`exp`, `iat`, `nbf`, `auth_time`) as whole Unix seconds, when it is a finite
    /// number between 0 and `UnixSeconds.latest`; fractions are dropped (RFC 7519 §2 NumericDate).
    public var unixSeconds: Int64? {
        guard case .number(let value) = self else { return nil }
        return UnixSeconds.bounded(value)
    }
}
