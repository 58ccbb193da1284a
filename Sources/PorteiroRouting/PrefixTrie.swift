/// Longest-prefix lookup over bytes. Lookup walks the path once, so its cost depends on the path's
/// length, never on how many routes share the table.
struct PrefixTrie: Sendable {
    private struct Node: Sendable {
        var children: [(byte: UInt8, node: Int32)] = []
        var value: Int32 = -1
    }

    private var nodes = [Node()]

    mutating func insert(_ key: String, value: Int) {
        var current = 0
        for byte in key.utf8 {
            if let next = nodes[current].children.first(where: { $0.byte == byte })?.node {
                current = Int(next)
            } else {
                nodes.append(Node())
                nodes[current].children.append((byte, Int32(nodes.count - 1)))
                current = nodes.count - 1
            }
        }
        nodes[current].value = Int32(value)
    }

    /// The value of the longest inserted key that is a prefix of `path`.
    func longestPrefix(of path: String) -> Int? {
        var current = 0
        var best = nodes[0].value
        for byte in path.utf8 {
            guard let next = nodes[current].children.first(where: { $0.byte == byte })?.node else { break }
            current = Int(next)
            if nodes[current].value >= 0 { best = nodes[current].value }
        }
        return best >= 0 ? Int(best) : nil
    }
}
