import PorteiroConfig

/// The effective route table as a fixed-width text table, for `check-config` and operators.
public enum RouteSummary {
    /// `providerNames`: the configuration's, in order, to name each route's provider.
    public static func render(_ table: RouteTable, providerNames: [String] = []) -> String {
        let header = ["#", "HOST", "PATH", "UPSTREAM", "AUTH", "PROVIDER", "STRIP", "TIMEOUT", "POLICY", "EXCHANGE", "HEADERS"]
        let rows = table.routes.map { route in
            [
                "\(route.index)", route.host.map(describe) ?? "*", route.prefix, route.upstream.description,
                route.auth.rawValue, provider(route, names: providerNames), route.stripPrefix ? "yes" : "no",
                ConfigDuration.format(route.timeout), policy(route),
                route.tokenExchange.map { "aud=\($0.audience)" + ($0.scope.map { " scope=\($0)" } ?? "") } ?? "-",
                route.headers.isEmpty ? "-" : route.headers.map { "\($0.name)=\($0.text)" }.joined(separator: " "),
            ]
        }
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $1.padding(to: widths[$0]) }.joined(separator: "  ")
                .trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    private static func provider(_ route: Route, names: [String]) -> String {
        guard route.auth != .none, !names.isEmpty else { return "-" }
        let indexes = route.auth == .bearer ? route.bearerProviders : [route.provider]
        return indexes.map { names.indices.contains($0) ? names[$0] : "?" }.joined(separator: ",")
    }

    private static func policy(_ route: Route) -> String {
        guard route.auth == .required || route.auth == .bearer else { return "-" }
        var parts = [route.policy.description]
        if let methods = route.methods { parts.append("methods=[\(methods.sorted().joined(separator: ","))]") }
        if route.auth == .bearer { parts.append("audiences=[\(route.audiences.sorted().joined(separator: ","))]") }
        if !route.skipAuth.isEmpty { parts.append("skip_auth=\(route.skipAuth.count)") }
        return parts.joined(separator: " ")
    }

    private static func describe(_ pattern: HostPattern) -> String {
        switch pattern {
        case .exact(let name): return name
        case .suffix(let suffix): return "*" + suffix
        }
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - count))
    }

    fileprivate func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
