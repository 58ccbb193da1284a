import Foundation
public import PostgresNIO
import NIOSSL

/// `postgres://user:password@host:port/database?sslmode=disable|prefer|require` → a client
/// configuration. The URL holds a password, so errors never repeat it.
public enum DatabaseURL {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func configuration(_ url: String) throws(Invalid) -> PostgresClient.Configuration {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
            let host = parts.host, !host.isEmpty, let user = parts.user, !user.isEmpty
        else {
            throw Invalid(description: "not a URL like postgres://user:password@host:5432/database")
        }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : nil
        let mode = parts.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw Invalid(description: "sslmode must be disable, prefer or require, not \(mode)")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: parts.password?.removingPercentEncoding, database: database?.isEmpty == false ? database : nil, tls: tls)
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }
}
