public import PorteiroConfig

/// All routes, compiled once at configuration load into per-host prefix tries.
///
/// Choosing a route: routes for the exact request host first, then wildcard hosts from the most
/// specific suffix, then routes without a host; within the first group that has any matching prefix,
/// the longest prefix wins. Each step is a hash or trie lookup, so 1,000 routes cost what 10 do.
public struct RouteTable: Sendable {
    public let routes: [Route]
    private var exactHosts: [String: RouteGroup] = [:]
    private var suffixHosts: [String: RouteGroup] = [:]
    private var anyHost = RouteGroup()

    /// The routes of one host pattern: case-sensitive prefixes, and those of `case_insensitive`
    /// routes, folded.
    private struct RouteGroup: Sendable {
        var exact = PrefixTrie()
        var folded = PrefixTrie(foldsCase: true)

        mutating func insert(_ route: Route, position: Int) {
            if route.caseInsensitive {
                folded.insert(route.prefix, value: position)
            } else {
                exact.insert(route.prefix, value: position)
            }
        }

        /// The longer match of the two; on a tie the case-sensitive route.
        func longestPrefix(of path: String) -> Int? {
            let sensitive = exact.longestPrefix(of: path)
            guard !folded.isEmpty, let insensitive = folded.longestPrefix(of: path) else { return sensitive?.value }
            guard let sensitive else { return insensitive.value }
            return insensitive.length > sensitive.length ? insensitive.value : sensitive.value
        }
    }

    public init(routes: [Route]) {
        self.routes = routes
        for (position, route) in routes.enumerated() {
            switch route.host {
            case .exact(let name): exactHosts[name, default: RouteGroup()].insert(route, position: position)
            case .suffix(let suffix): suffixHosts[suffix, default: RouteGroup()].insert(route, position: position)
            case nil: anyHost.insert(route, position: position)
            }
        }
    }

    /// Compiles validated configuration; a route that still fails to compile is reported, not skipped.
    public init(config: GatewayConfig) throws(ConfigProblems) {
        var compiled: [Route] = []
        var problems: [ConfigProblem] = []
        for (index, routeConfig) in config.routes.enumerated() {
            // Validation refuses unknown names; this is the backstop, never a fallback to another provider.
            let named: Int? = if let name = routeConfig.provider { config.providerIndex(named: name) } else { 0 }
            guard let provider = named,
                  case let bearer = routeConfig.providers.map({ config.providerIndex(named: $0) }), !bearer.contains(nil)
            else {
                problems.append(ConfigProblem(path: "routes[\(index)].provider", line: nil, message: "names no configured provider"))
                continue
            }
            do {
                compiled.append(try Route(
                    index: index, config: routeConfig, provider: provider,
                    bearerProviders: bearer.isEmpty ? nil : bearer.compactMap { $0 }))
            } catch {
                problems.append(ConfigProblem(path: "routes[\(index)].upstream", line: nil, message: error.message))
            }
        }
        guard problems.isEmpty else { throw ConfigProblems(problems) }
        self.init(routes: compiled)
    }

    /// The route for a request, given its `Host` (any case, port allowed) and its routing path. A
    /// path that names a route's directory without its trailing slash (`/admin` for `/admin/`)
    /// finds that route: see `Route.isDirectoryWithoutSlash`.
    public func route(host: String?, path: String) -> Route? {
        if let name = host.map(RouteTable.hostName), !name.isEmpty {
            if let group = exactHosts[name], let position = group.longestPrefix(of: path) {
                return routes[position]
            }
            if !suffixHosts.isEmpty {
                var rest = Substring(name)
                while let dot = rest.dropFirst().firstIndex(of: ".") {
                    rest = rest[dot...]
                    if let group = suffixHosts[String(rest)], let position = group.longestPrefix(of: path) {
                        return routes[position]
                    }
                    rest = rest.dropFirst()
                }
            }
        }
        return anyHost.longestPrefix(of: path).map { routes[$0] }
    }

    /// What routing a request target found.
    public enum Lookup: Sendable {
        case route(Route)
        case none
        /// The target's readings (`RequestTarget.routingPaths`) lead to different routes: which one
        /// the app behind would take depends on the server, so the request is refused.
        case ambiguous
    }

    /// The route for `target` under every reading of its path; `ambiguous` when they disagree.
    public func lookup(host: String?, target: RequestTarget) -> Lookup {
        let first = route(host: host, path: target.routingPath)
        for reading in target.routingPaths.dropFirst() where route(host: host, path: reading) !== first {
            return .ambiguous
        }
        return first.map { .route($0) } ?? .none
    }

    /// `Portal.Example.org:8443` → `portal.example.org`; `[::1]:80` → `::1`.
    static func hostName(_ header: String) -> String {
        var name = Substring(header)
        if name.hasPrefix("["), let close = name.firstIndex(of: "]") {
            name = name[name.index(after: name.startIndex)..<close]
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        return name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
            ? name.lowercased() : String(name)
    }
}
