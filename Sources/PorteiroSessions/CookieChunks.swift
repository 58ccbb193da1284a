/// Splits a sealed value over several cookies when it is too large for one (browsers keep ~4 KiB
/// per cookie): `_porteiro` when it fits, else `_porteiro_0`, `_porteiro_1`, … Reassembly refuses
/// gaps, so a missing or reordered chunk yields nothing, never a wrong session.
public enum CookieChunks {
    /// Room for the value in one cookie, leaving space for the name and attributes.
    public static let maxValueBytes = 3_800
    /// More chunks than this is refused on reading (bounded work for hostile headers).
    public static let maxChunks = 8

    public static func read(_ cookies: CookieHeader, name: String) -> String? {
        if let whole = cookies[name] { return String(whole) }
        var value = ""
        for index in 0..<maxChunks {
            guard let part = cookies["\(name)_\(index)"] else { break }
            value += part
        }
        return value.isEmpty ? nil : value
    }

    /// `Set-Cookie` values that store `value` and delete every other form present in the request.
    public static func write(_ value: String, settings: CookieSettings, maxAge: Int, present: CookieHeader) -> [String] {
        let name = settings.fullName
        var names: [String] = []
        var headers: [String] = []
        if value.utf8.count <= maxValueBytes {
            names = [name]
            headers = [settings.setCookie(name: name, value: value, maxAge: maxAge)]
        } else {
            let bytes = Array(value.utf8)
            for (index, start) in stride(from: 0, to: bytes.count, by: maxValueBytes).enumerated() {
                let part = String(decoding: bytes[start..<min(start + maxValueBytes, bytes.count)], as: UTF8.self)
                names.append("\(name)_\(index)")
                headers.append(settings.setCookie(name: "\(name)_\(index)", value: part, maxAge: maxAge))
            }
        }
        return headers + deleteAll(settings: settings, present: present, keeping: Set(names))
    }

    /// `Set-Cookie` values that delete the cookie and all its chunks present in the request.
    public static func deleteAll(settings: CookieSettings, present: CookieHeader, keeping: Set<String> = []) -> [String] {
        let name = settings.fullName
        let stale = ([name] + present.names(withPrefix: name + "_").filter { isChunkName($0, of: name) })
            .filter { present[$0] != nil && !keeping.contains($0) }
        return stale.map { settings.setCookie(name: $0, value: "", maxAge: 0) }
    }

    private static func isChunkName(_ candidate: String, of name: String) -> Bool {
        let suffix = candidate.dropFirst(name.count + 1)
        return !suffix.isEmpty && suffix.allSatisfy(\.isNumber)
    }
}
