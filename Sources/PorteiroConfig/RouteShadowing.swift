#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Routes that undo each other's protection: a route behind a login or an `allow` whose upstream
/// is also reachable, at the same paths, through a weaker route — via another `Host`, a stripped
/// prefix or another base path. The route table sends each request to one route, but the app
/// behind both cannot tell which one let a request in.
///
/// Not reported: routes on the same host pattern that forward their paths unchanged, one prefix
/// inside the other (`/` public and `/admin/` protected; `/app/` protected and `/app/public/`
/// public). There the table itself keeps each path on its own route.
public enum RouteShadowing {
    /// One warning per pair, naming both routes; empty when nothing is shadowed.
    public static func warnings(in config: GatewayConfig) -> [ConfigProblem] {
        let routes = config.routes.enumerated().compactMap { index, route in Reach(index: index, route: route) }
        var warnings: [ConfigProblem] = []
        for strong in routes where strong.strength > 0 {
            for weak in routes where weak.strength < strong.strength && weak.shares(with: strong) {
                warnings.append(ConfigProblem(
                    path: "routes[\(strong.index)]", line: nil,
                    message: "its upstream \(strong.route.upstream) is also reachable at the same paths through routes[\(weak.index)] "
                        + "(\(weak.summary)), which \(weak.strength == 0 ? "needs no login" : "has no allow rules"); "
                        + "give the protected app an upstream of its own, or the same host and an unstripped path"))
            }
        }
        return warnings
    }

    /// What one route reaches upstream.
    private struct Reach {
        let index: Int
        let route: RouteConfig
        /// Scheme, canonical host and port: two routes with the same origin reach the same app.
        let origin: String
        /// Upstream path prefix every request of this route starts with.
        let space: String
        /// 0: no login needed; 1: any signed-in user; 2: an `allow` policy.
        let strength: Int

        init?(index: Int, route: RouteConfig) {
            guard case .success(let upstream) = UpstreamAddress.parse(route.upstream) else { return nil }
            self.index = index
            self.route = route
            self.origin = "\(upstream.scheme.rawValue)://\(Self.canonicalHost(upstream.host)):\(upstream.port)"
            self.space = upstream.basePath + (route.stripPrefix ? "/" : route.path)
            switch route.auth {
            case .none, .optional: strength = 0
            case .required, .bearer: strength = route.allow == nil ? 1 : 2
            }
        }

        /// One name per machine where the configuration alone can tell: case and a trailing dot
        /// ignored, IPv4 in any form `inet_aton` reads (`127.1`), and every loopback name and
        /// address (`localhost`, `127.0.0.0/8`, `::1`, `::ffff:127.0.0.1`) as one.
        static func canonicalHost(_ host: String) -> String {
            var name = host.lowercased()
            if name.hasSuffix(".") { name.removeLast() }
            if name == "localhost" || name.hasSuffix(".localhost") { return "loopback" }
            var address = in_addr()
            if !name.contains(":"), inet_aton(name, &address) != 0 {
                let bytes = withUnsafeBytes(of: address.s_addr) { Array($0) }
                // 0.0.0.0 connects to this machine too.
                return bytes.first == 127 || bytes == [0, 0, 0, 0] ? "loopback" : bytes.map(String.init).joined(separator: ".")
            }
            if let bytes = IPRange.parseAddress(name) {
                if bytes == Array(repeating: 0, count: 15) + [1] || bytes == Array(repeating: 0, count: 16) { return "loopback" }
                if bytes.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) {
                    return bytes[12] == 127 ? "loopback" : bytes.suffix(4).map(String.init).joined(separator: ".")
                }
            }
            return name
        }

        var summary: String { "\(route.path) on \(route.host ?? "any host"), auth: \(route.auth.rawValue)" }

        /// True when `self` reaches upstream paths that `other` protects, and the table does not
        /// already keep them apart.
        func shares(with other: Reach) -> Bool {
            guard origin == other.origin, space.hasPrefix(other.space) || other.space.hasPrefix(space) else { return false }
            let sameHost = route.host?.lowercased() == other.route.host?.lowercased()
            let unchangedPaths = !route.stripPrefix && !other.route.stripPrefix && space.count - route.path.count == other.space.count - other.route.path.count
            return !(sameHost && unchangedPaths)
        }
    }
}
