import NIOHTTP1

extension HTTPHeaders {
    /// The comma-separated elements of every `name` field, each trimmed of ASCII whitespace, empty
    /// pieces between commas skipped: what `self[canonicalForm: name]` returns, read on bytes (that
    /// one lowercases the name and splits by `Character`, a cost on every request's checks).
    /// Not for `Set-Cookie`, whose values may hold commas. (One difference: a comma followed by a
    /// combining mark is one `Character` to that split and a separator here; the framing checks
    /// refuse such a value either way.)
    func elements(_ name: String) -> [Substring] {
        var elements: [Substring] = []
        for (field, value) in self where field.utf8.count == name.utf8.count && Self.sameName(field, name) {
            let bytes = value.utf8
            var start = bytes.startIndex
            while start < bytes.endIndex {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
                if end > start {
                    elements.append(Self.trimmed(Substring(bytes[start..<end])))
                }
                start = end == bytes.endIndex ? end : bytes.index(after: end)
            }
        }
        return elements
    }

    private static func sameName(_ field: String, _ name: String) -> Bool {
        field.utf8.elementsEqual(name.utf8) { a, b in a | 0x20 == b | 0x20 && (a | 0x20) &- UInt8(ascii: "a") < 26 || a == b }
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let bytes = text.utf8
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == 0x0A || byte == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return Substring()
        }
        return Substring(bytes[first...last])
    }
}
