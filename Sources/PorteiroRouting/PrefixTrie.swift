/// Longest-prefix lookup over bytes. Lookup walks the path once, so its cost depends on the path's
/// length, never on how many routes share the table.
struct PrefixTrie: Sendable {
    private struct Node: Sendable {
        var children: [(byte: UInt8, node: Int32)] = []
        var value: Int32 = -1
    }

    private var nodes = [Node()]
    /// Keys and lookups ignore ASCII case (routes with `case_insensitive: true`).
    let foldsCase: Bool

    init(foldsCase: Bool = false) {
        self.foldsCase = foldsCase
    }

    var isEmpty: Bool { nodes.count == 1 && nodes[0].value < 0 }

    mutating func insert(_ key: String, value: Int) {
        var current = 0
        for byte in key.utf8.map(fold) {
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

    /// The value and length of the longest inserted key that is a prefix of `path` or of `path`
    /// followed by `/`: `/admin` finds the route `/admin/`, as an nginx location does, so a
    /// directory named without its slash never falls through to a weaker route (unless a key is
    /// the whole path).
    func longestPrefix(of path: String) -> (value: Int, length: Int)? {
        var current = 0
        var best: (value: Int, length: Int)? = nodes[0].value >= 0 ? (Int(nodes[0].value), 0) : nil
        var length = 0
        var walkedWholePath = true
        for byte in path.utf8 {
            guard let next = child(of: current, fold(byte)) else {
                walkedWholePath = false
                break
            }
            current = next
            length += 1
            if nodes[current].value >= 0 { best = (Int(nodes[current].value), length) }
        }
        if walkedWholePath, best?.length != length, path.utf8.last != UInt8(ascii: "/"), let next = child(of: current, UInt8(ascii: "/")),
            nodes[next].value >= 0
        {
            best = (Int(nodes[next].value), length + 1)
        }
        return best
    }

    private func child(of node: Int, _ byte: UInt8) -> Int? {
        nodes[node].children.first(where: { $0.byte == byte }).map { Int($0.node) }
    }

    private func fold(_ byte: UInt8) -> UInt8 {
        foldsCase && byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
