import PorteiroConfig
@testable import PorteiroProxy
import PorteiroRouting
import Testing

/// Which provider `/oauth2/start`, `/oauth2/sign_out` and `/oauth2/userinfo` act for.
@Suite struct ProviderChoiceTests {
    static func settings(providers: [String]) throws -> GatewaySettings {
        var partners = RouteConfig(path: "/partners/", upstream: "http://app:8080")
        partners.provider = providers.count > 1 ? "partners" : nil
        var config = GatewayConfig(routes: [partners, RouteConfig(path: "/", upstream: "http://app:8080")])
        config.providers = providers.map { NamedProvider(name: $0, config: ProviderConfig(issuer: "https://\($0)", clientID: "c", clientSecret: nil)) }
        return try GatewaySettings(config: config)
    }

    static func choice(_ uri: String, _ settings: GatewaySettings) throws -> Int? {
        ProviderChoice.forEndpoint(try RequestTarget.parse(uri).get(), host: "portal.example.org", settings: settings)
    }

    @Test func aNamedProviderThenTheRouteOfTheReturnTargetThenTheFirst() throws {
        let settings = try Self.settings(providers: ["gov", "partners"])
        #expect(try Self.choice("/oauth2/start?provider=partners&rd=/x", settings) == 1)
        #expect(try Self.choice("/oauth2/start?provider=gov&rd=/partners/x", settings) == 0, "the name wins over rd")
        #expect(try Self.choice("/oauth2/start?rd=%2Fpartners%2Freport%3Fy%3D1", settings) == 1)
        #expect(try Self.choice("/oauth2/sign_out?rd=https%3A%2F%2Fportal.example.org%2Fpartners%2F", settings) == 1)
        #expect(try Self.choice("/oauth2/start?rd=/elsewhere", settings) == 0)
        #expect(try Self.choice("/oauth2/start", settings) == 0)
        #expect(try Self.choice("/oauth2/start?provider=nobody", settings) == nil, "refused, never a login at another provider")
        #expect(try Self.choice("/oauth2/start?provider=", settings) == nil)
        #expect(try Self.choice("/oauth2/start?provider=gov&provider=partners", settings) == nil, "given twice: refused")
        #expect(try Self.choice("/oauth2/start?provider=gov&provid%65r=partners", settings) == nil, "however it is spelled")
    }

    @Test func oneProviderIsAlwaysTheOne() throws {
        #expect(try Self.choice("/oauth2/start?provider=anything", try Self.settings(providers: ["default"])) == 0)
    }
}
