import Foundation
import PorteiroConfig
import PorteiroRouting
import Testing

/// A loader with a fixed environment and an in-memory file system.
func loader(env: [String: String] = [:], files: [String: String] = [:]) -> ConfigLoader {
    ConfigLoader(environment: env) { path in
        guard let text = files[path] else { throw CocoaError(.fileNoSuchFile) }
        return text
    }
}

/// The problems of loading `yaml`, or none.
func problems(_ yaml: String, env: [String: String] = [:], files: [String: String] = [:]) -> [ConfigProblem] {
    do {
        _ = try loader(env: env, files: files).load(yaml: yaml)
        return []
    } catch {
        return error.problems
    }
}

let secret = "LL6RmrB6UvlvV2TTpm1B3CMt0E3OJH6y7OqdVldQnug="

/// The commented example every operator starts from, config/porteiro.yaml.
func referenceConfigText() throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../config/porteiro.yaml").standardized
    return try String(contentsOf: url, encoding: .utf8)
}
let minimalRoutes = """
    routes:
      - path: /
        upstream: "http://127.0.0.1:8080"
        auth: none
    """

@Suite struct ConfigLoaderTests {
    @Test func loadsAMinimalFileWithDefaults() throws {
        let config = try loader().load(yaml: minimalRoutes)
        #expect(config.server.listen == "127.0.0.1:4180")
        #expect(config.server.maxHeaderCount == 100)
        #expect(config.upstream.idleTimeout == .seconds(30))
        #expect(config.routes == [RouteConfig(path: "/", upstream: "http://127.0.0.1:8080", auth: .none)])
        #expect(config.provider == nil)
    }

    @Test func reportsThreeDistinctMistakesAtOnceWithPathsAndLines() {
        let found = problems("""
            server:
              listen: "127.0.0.1:99999"
              trusted_proxys: [10.0.0.0/8]
            routes:
              - path: /a/
                upstream: "http://127.0.0.1:8080"
                auth: none
              - path: /b/
                upstream: "ftp://x"
                auth: none
            """)
        #expect(found.map(\.description) == [
            #"line 2: server.listen: "127.0.0.1:99999" is not host:port (e.g. 127.0.0.1:4180 or [::]:4180)"#,
            #"line 3: server.trusted_proxys: unknown key (did you mean "trusted_proxies"?)"#,
            #"line 9: routes[1].upstream: "ftp://x" is not an http(s) URL"#,
        ])
    }

    @Test(arguments: [
        ("server: [1, 2]\n" + minimalRoutes, "server", "must be a mapping of keys"),
        ("server:\n  listen: [a]\n" + minimalRoutes, "server.listen", "must be a single value"),
        ("server:\n  trusted_proxies: 10.0.0.0/8\n" + minimalRoutes, "server.trusted_proxies", "must be a list"),
        ("server:\n  max_header_count: 5\n" + minimalRoutes, "server.max_header_count", "is not a whole number from 8"),
        ("server:\n  shutdown_grace: 30\n" + minimalRoutes, "server.shutdown_grace", "is not a duration"),
        ("logging:\n  level: loud\n" + minimalRoutes, "logging.level", "is not one of trace | debug"),
        ("logging:\n  access_log: maybe\n" + minimalRoutes, "logging.access_log", "is not true or false"),
        ("server:\n  listen: ${NOPE}\n" + minimalRoutes, "server.listen", "environment variable NOPE is not set"),
        ("server:\n  listen: ${NOPE\n" + minimalRoutes, "server.listen", "malformed ${...} reference"),
        ("routes:\n  - path: /\n", "routes[0].upstream", "is required"),
        ("server: {}\n", "routes", "is missing"),
        ("routes: x\n", "routes", "must be a list"),
        ("server:\n  listen: \"a b:1\"\n" + minimalRoutes, "server.listen", "is not host:port"),
        ("server:\n  public_url: https://x/path\n" + minimalRoutes, "server.public_url", "without path"),
        ("server:\n  trusted_proxies: [10.0.0.0/33]\n" + minimalRoutes, "server.trusted_proxies[0]", "is not an IP address"),
        ("upstream:\n  connect_timeout: 0\n" + minimalRoutes, "upstream.connect_timeout", "must be longer than 0"),
    ])
    func reportsEachKindOfShapeProblem(yaml: String, path: String, message: String) {
        let found = problems(yaml)
        #expect(found.contains { $0.path == path && $0.message.contains(message) }, "\(found)")
    }

    @Test(arguments: [
        ("upstream: \"http://u:p@x\"", "routes[0].upstream", "\"http://***@x\" must not carry credentials"),
        ("upstream: \"http://x/?a=1\"", "routes[0].upstream", "must not carry a query"),
        ("upstream: \"http://svc:S3cret@x/?a=1\"", "routes[0].upstream", "\"http://***@x/?a=1\" must not carry a query"),
        ("upstream: \"http://:80\"", "routes[0].upstream", "has no valid host"),
        ("upstream: \"http://x\"\n    path: app/", "routes[0].path", "must start with /"),
        ("upstream: \"http://x\"\n    path: /a?b", "routes[0].path", "plain path prefix"),
        ("upstream: \"http://x\"\n    host: \"bad host\"", "routes[0].host", "is not a host name"),
        ("upstream: \"http://x\"\n    timeout: 0", "routes[0].timeout", "must be longer than 0"),
    ])
    func reportsRouteProblems(route: String, path: String, message: String) {
        let found = problems("routes:\n  - auth: none\n    \(route)\n")
        #expect(found.contains { $0.path == path && $0.message.contains(message) }, "\(found)")
    }

    @Test func reportsServerTLSAndMetricsProblems() {
        let found = problems("""
            server:
              listen: "127.0.0.1:4180"
              metrics_listen: "127.0.0.1:4180"
              metrics_path: metrics
              tls: { certificate_file: /nonexistent/cert.pem }
            upstream: { ca_file: /nonexistent/ca.pem }
            routes: [{ upstream: "https://x", auth: none }]
            """).map(\.description)
        #expect(found.contains { $0.contains("server.metrics_listen: must differ from server.listen") }, "\(found)")
        #expect(found.contains { $0.contains("server.metrics_path: \"metrics\" must start with /") }, "\(found)")
        #expect(found.contains { $0.contains("server.tls.key_file: is required") }, "\(found)")
        #expect(found.contains { $0.contains("upstream.ca_file: cannot read \"/nonexistent/ca.pem\"") }, "\(found)")
        #expect(!found.contains { $0.contains("routes[0]") }, "https upstreams are accepted: \(found)")
    }

    @Test func refusesDuplicateRoutes() {
        let found = problems("""
            routes:
              - { path: /a/, upstream: "http://x", auth: none }
              - { host: X.org, path: /a/, upstream: "http://y", auth: none }
              - { host: x.org, path: /a/, upstream: "http://z", auth: none }
            """)
        #expect(found.map(\.description) == ["line 4: routes[2]: repeats host and path of routes[1]; only one can ever match"])
    }

    @Test func requiresProviderSessionAndPublicURLForLoginRoutes() {
        let found = problems("routes:\n  - path: /\n    upstream: \"http://x\"\n")
        #expect(Set(found.map(\.path)) == ["server.public_url", "provider", "session"])
        #expect(found.allSatisfy { $0.message == "is required because routes[0] has auth: required" })
    }

    @Test func checksProviderAndSessionValues() {
        let found = problems("""
            server: { public_url: "https://portal.example.org" }
            provider:
              issuer: "not a url"
              client_id: portal
              client_secret: ""
              scopes: [profile]
            session:
              cookie_name: "bad name"
              secrets: ["c2hvcnQ=", "\(secret)"]
              lifetime: 0
            routes:
              - { path: /, upstream: "http://x" }
            """)
        #expect(Set(found.map(\.path)) == [
            "provider.issuer", "provider.scopes", "provider.client_secret", "session.cookie_name",
            "session.secrets[0]", "session.lifetime",
        ])
    }

    @Test func requiresProviderKeys() {
        let found = problems("provider: { scopes: [openid] }\n" + minimalRoutes)
        #expect(Set(found.map(\.path)) == ["provider.issuer", "provider.client_id"])
    }

    @Test func substitutesEnvironmentPerValueWithDefaults() throws {
        let config = try loader(env: ["PORT": "9000", "EMPTY": ""]).load(yaml: """
            server:
              listen: "0.0.0.0:${PORT}"
              public_url: "${URL:-https://portal.example.org}"
              trusted_proxies: ["${EMPTY:-10.0.0.0/8}"]
            \(minimalRoutes)
            """)
        #expect(config.server.listen == "0.0.0.0:9000")
        #expect(config.server.publicURL == "https://portal.example.org")
        #expect(config.server.trustedProxies == ["10.0.0.0/8"], "an empty variable takes the default")
    }

    @Test func readsSecretsFromFilesButNotFromBoth() throws {
        let files = ["/run/s": "s3cret\n", "/run/keys": "# rotated weekly\n\(secret)\n\n"]
        let config = try loader(files: files).load(yaml: """
            server: { public_url: "https://p.example.org" }
            provider: { issuer: "https://iam.example.org/realms/x", client_id: c, client_secret_file: /run/s }
            session: { secrets_file: /run/keys }
            routes: [{ path: /, upstream: "http://x" }]
            """)
        #expect(config.provider?.clientSecret == "s3cret")
        #expect(config.session?.secrets == [secret])

        let both = problems("provider: { issuer: \"https://i\", client_id: c, client_secret: a, client_secret_file: /f }\n" + minimalRoutes)
        #expect(both.contains { $0.path == "provider.client_secret" && $0.message.contains("not both") })
        let missing = problems("session: { secrets_file: /nope }\n" + minimalRoutes)
        #expect(missing.contains { $0.path == "session.secrets_file" && $0.message.contains("cannot read /nope") })
    }

    @Test func readsPoliciesAndRefusesThemWhereTheyCannotApply() throws {
        let config = try loader().load(yaml: """
            server: { public_url: "https://p.example.org" }
            provider: { issuer: "https://iam.example.org/r", client_id: c }
            session: { secrets: ["\(secret)"] }
            routes:
              - path: /admin/
                upstream: "http://x"
                methods: [get, POST]
                allow: { groups: [admins], email_domains: [example.org], claims: { department: [finance, audit] } }
                skip_auth: [{ methods: [OPTIONS], path: "/*" }, { path: /admin/health }]
              - { path: /, upstream: "http://x", auth: optional }
            """)
        #expect(config.routes[0].methods == ["GET", "POST"])
        #expect(config.routes[0].allow?.claims == ["department": ["finance", "audit"]])
        #expect(config.routes[0].skipAuth == [RouteConfig.SkipAuth(methods: ["OPTIONS"], path: "/*"), RouteConfig.SkipAuth(path: "/admin/health")])
        let found = problems("""
            routes:
              - { path: /, upstream: "http://x", auth: none, allow: { groups: [a] }, skip_auth: [{ path: x }], methods: ["G T"] }
            """)
        #expect(Set(found.map(\.path)) == ["routes[0].allow", "routes[0].skip_auth", "routes[0].skip_auth[0].path", "routes[0].methods"])
    }

    @Test func readsTheErrorPageTemplateOnce() throws {
        let config = try loader(files: ["/t/error.html": "<p>{{message}}</p>"]).load(yaml: "server: { templates_dir: /t }\n" + minimalRoutes)
        #expect(config.server.errorPageTemplate == "<p>{{message}}</p>")
        let missing = problems("server: { templates_dir: /nowhere }\n" + minimalRoutes)
        #expect(missing.contains { $0.path == "server.templates_dir" && $0.message.contains("cannot read /nowhere/error.html") })
    }

    @Test func reportsYAMLSyntaxErrorsWithLine() {
        let found = problems("routes:\n  - path: /\n    upstream: [unclosed\n")
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("not valid YAML") == true)
        #expect(found.first?.line != nil)
        #expect(problems("").map(\.message) == ["the file is empty"])
        #expect(problems("- just\n- a list\n").map(\.message) == ["must be a mapping of keys"])
    }

    @Test func yamlErrorsNeverQuoteTheFileWhichMayHoldSecrets() {
        let found = problems("session: { secrets: [\"s3cr3t-value\"] }\nroutes: []\nroutes: []\n")
        #expect(found.map(\.description) == ["not valid YAML: repeated key(s) routes"])
    }

    @Test func describingAConfigNeverShowsItsSecrets() throws {
        var config = try loader(env: ["PORTEIRO_COOKIE_SECRET": secret]).load(yaml: try referenceConfigText())
        config.provider?.clientSecret = "client-s3cret"
        config.database.url = "postgres://porteiro:db-s3cret@db:5432/porteiro"
        var dumped = ""
        dump(config, to: &dumped)
        for text in ["\(config)", String(reflecting: config), dumped] {
            #expect(!text.contains(secret) && !text.contains("client-s3cret") && !text.contains("db-s3cret"))
            #expect(text.contains("redacted"))
        }
    }

    @Test func referenceFileLoadsAndMentionsEveryKey() throws {
        let text = try referenceConfigText()
        let config = try loader(env: ["PORTEIRO_COOKIE_SECRET": secret]).load(yaml: text)
        #expect(config.routes.count >= 3)
        for path in ConfigKeys.allPaths {
            let key = String(path.split(separator: ".").last!)
            #expect(text.contains("\(key):"), "config/porteiro.yaml does not document \(path)")
        }
    }
}

@Suite struct ConfigValueTests {
    @Test(arguments: [
        ("30s", Duration.seconds(30)), ("5m", .seconds(300)), ("8h", .seconds(28_800)), ("1h30m", .seconds(5_400)),
        ("250ms", .milliseconds(250)), ("2d", .seconds(172_800)), ("0", .zero), (" 10s ", .seconds(10)),
    ])
    func parsesDurations(text: String, expected: Duration) {
        #expect(ConfigDuration.parse(text) == expected)
    }

    @Test(arguments: ["30", "", "s", "5x", "1.5h", "-3s", "10 s", "9999999999s"])
    func refusesAmbiguousDurations(text: String) {
        #expect(ConfigDuration.parse(text) == nil)
    }

    @Test func formatsDurationsBack() {
        #expect(ConfigDuration.format(.seconds(30)) == "30s")
        #expect(ConfigDuration.format(.seconds(28_800)) == "8h")
        #expect(ConfigDuration.format(.milliseconds(1_500)) == "1500ms")
    }

    @Test func substitutesEnvironment() {
        let env = ["A": "1", "B_2": "two"]
        #expect(EnvironmentSubstitution.apply("x${A}y${B_2}", environment: env) == .success("x1ytwo"))
        #expect(EnvironmentSubstitution.apply("${C:-d:-e}", environment: env) == .success("d:-e"))
        #expect(EnvironmentSubstitution.apply("${C}", environment: env) == .failure(.unset("C")))
        #expect(EnvironmentSubstitution.apply("${1A}", environment: env) == .failure(.malformed))
        #expect(EnvironmentSubstitution.apply("$A {A}", environment: env) == .success("$A {A}"))
    }

    @Test func matchesIPRanges() throws {
        let v4 = try #require(IPRange("10.0.0.0/8"))
        #expect(v4.contains([10, 200, 3, 4]))
        #expect(!v4.contains([11, 0, 0, 1]))
        #expect(v4.contains([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]), "IPv4-mapped IPv6 peer")
        let v6 = try #require(IPRange("fd00::/8"))
        #expect(v6.contains([0xfd] + Array(repeating: 1, count: 15)))
        #expect(!v6.contains([10, 0, 0, 1]))
        #expect(IPRange("127.0.0.1")?.prefixLength == 32)
        #expect(IPRange("10.0.0.0/33") == nil)
        #expect(IPRange("example.org") == nil)
        #expect(IPRange("10.1.2.3/8")?.description == "10.0.0.0/8")
    }

    @Test func parsesUpstreamAddresses() throws {
        let address = try UpstreamAddress.parse("HTTP://App.Internal:8080/base/").get()
        #expect(address == UpstreamAddress(scheme: .http, host: "App.Internal", port: 8080, basePath: "/base"))
        #expect(try UpstreamAddress.parse("https://[::1]").get().hostHeader == "[::1]")
        #expect(try UpstreamAddress.parse("http://x:80").get().description == "http://x")
        #expect(throws: InvalidValue.self) { try UpstreamAddress.parse("http://x:0").get() }
    }

    @Test func parsesHostPatterns() {
        #expect(HostPattern("Portal.Example.org") == .exact("portal.example.org"))
        #expect(HostPattern("*.example.org") == .suffix(".example.org"))
        for bad in ["", "*.", "a..b", "-a.org", "a b", "*.*.org", "a_b.org"] {
            #expect(HostPattern(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct SharedStateConfigTests {
    @Test func postgresRevocationNeedsADatabaseURLThatIsNeverQuoted() {
        let needsURL = problems("revocation: { store: postgres }\n" + minimalRoutes)
        #expect(needsURL.map(\.description) == ["database.url: is required because revocation.store is postgres"])
        let badURL = problems("database: { url: \"mysql://u:hunter2@h/d\" }\n" + minimalRoutes)
        #expect(badURL.map(\.description) == [
            "line 1: database.url: is not a postgres:// URL (postgres://user:password@host:5432/database)",
        ])
        let fromFile = try? loader(files: ["/run/url": "postgres://u:p@db/porteiro\n"])
            .load(yaml: "database: { url_file: /run/url }\nrevocation: { store: postgres, poll_interval: 2s }\n" + minimalRoutes)
        #expect(fromFile?.database.url == "postgres://u:p@db/porteiro")
        #expect(fromFile?.revocation.pollInterval == .seconds(2))
        let stale = problems("revocation: { poll_interval: 10s, max_staleness: 5s }\n" + minimalRoutes)
        #expect(stale.map(\.path) == ["revocation.max_staleness"])
    }
}

/// Configuration that would admit more than the admin wrote: refused or warned about.
@Suite struct FailClosedConfigTests {
    let login = """
        server: { public_url: "https://p.example.org" }
        provider: { issuer: "https://iam.example.org/r", client_id: c }
        session: { secrets: ["\(secret)"] }
        """

    @Test(arguments: ["allow: {}", "allow: { groups: [] }", "allow: { groups: [], emails: [] }"])
    func anAllowThatNamesNoOneIsRefused(allow: String) {
        let found = problems(login + "\nroutes:\n  - { path: /admin/, upstream: \"http://x\", \(allow) }")
        #expect(found.map(\.path) == ["routes[0].allow"])
    }

    @Test(arguments: [
        ("allow: { groups: [\"\"] }", "routes[0].allow.groups[0]"), ("allow: { groups: [admins, \"  \"] }", "routes[0].allow.groups[1]"),
        ("allow: { groups: [\"${UNSET:-}\"] }", "routes[0].allow.groups[0]"), ("allow: { claims: { dept: [\"\"] } }", "routes[0].allow.claims.dept[0]"),
        ("allow: { groups: [admins], claims: { dept: [] } }", "routes[0].allow.claims.dept"),
        ("allow: { email_domains: [\"@\"] }", "routes[0].allow.email_domains[0]"),
    ])
    func aBlankEntryInAnAllowListIsRefused(allow: String, path: String) {
        let found = problems(login + "\nroutes:\n  - { path: /admin/, upstream: \"http://x\", \(allow) }")
        #expect(found.map(\.path).contains(path), "\(found)")
    }

    /// The third red team: `audiences: [""]` passed, and a token with `aud: ""` then did too;
    static let twoProviders = """
        providers:
          gov: { issuer: "https://iam.example.org/realms/gov", client_id: legacy-portal }
          partners: { issuer: "https://iam.example.org/realms/partners", client_id: partner-portal, client_secret: s3cr3t }
        session: { secrets: ["\(secret)"] }
        server: { public_url: "https://portal" }

        """

    @Test func readsSeveralProvidersInOrderAndTheRoutesThatNameThem() throws {
        let config = try loader().load(yaml: Self.twoProviders + """
            routes:
              - { path: /partners/, upstream: "http://app", provider: partners }
              - { path: /api/, upstream: "http://app", auth: bearer, audiences: [api], providers: [gov, partners] }
              - { path: /, upstream: "http://app" }
            """)
        #expect(config.providers.map(\.name) == ["gov", "partners"])
        #expect(config.provider?.clientID == "legacy-portal", "the first is the default")
        #expect(config.providers[1].config.clientSecret == "s3cr3t")
        #expect(config.sessionCookieName(provider: 0) == "_porteiro" && config.sessionCookieName(provider: 1) == "_porteiro_partners")
        let table = try RouteTable(config: config)
        #expect(table.routes.map(\.provider) == [1, 0, 0])
        #expect(table.routes.map(\.bearerProviders) == [[1], [0, 1], [0]])
        let single = try loader().load(yaml: "provider: { issuer: \"https://i\", client_id: c }\n" + minimalRoutes)
        #expect(single.providers.map(\.name) == ["default"])
    }

    @Test func refusesProvidersThatCannotBeTold() {
        let both = problems("provider: { issuer: \"https://i\", client_id: c }\n" + Self.twoProviders + minimalRoutes)
        #expect(both.contains { $0.path == "providers" && $0.message.contains("cannot both be set") }, "\(both)")
        let found = problems("""
            providers:
              gov: { issuer: "not a url", client_id: a }
              Bad_Name: { issuer: "https://i", client_id: b }
              state: { issuer: "https://j", client_id: b }
            session: { secrets: ["\(secret)"] }
            server: { public_url: "https://portal" }
            routes:
              - { path: /a/, upstream: "http://app", provider: nobody }
              - { path: /b/, upstream: "http://app", providers: [gov] }
              - { path: /c/, upstream: "http://app", auth: bearer, audiences: [x], providers: [gov, ghost] }
              - { path: /d/, upstream: "http://app", auth: none, provider: gov }
            """)
        for (path, message) in [
            ("providers.gov.issuer", "not an absolute"), ("providers.Bad_Name", "not a provider name"), ("providers.state", "not a provider name"),
            ("routes[0].provider", "\"nobody\" is not one of the providers (gov, Bad_Name, state)"), ("routes[1].providers", "only to auth: bearer"),
            ("routes[2].providers[1]", "\"ghost\""), ("routes[3].provider", "applies only to routes that know the user"),
        ] {
            #expect(found.contains { $0.path == path && $0.message.contains(message) }, "\(path): \(found)")
        }
    }

    @Test func readsTokenExchangesAndRefusesThemWhereNoSessionTokenIsAtHand() throws {
        let config = try loader().load(yaml: Self.twoProviders + """
            routes:
              - { path: /billing/, upstream: "http://app", token_exchange: { audience: billing, scope: "billing.read" } }
              - { path: /, upstream: "http://app" }
            """)
        #expect(config.routes[0].tokenExchange == RouteConfig.TokenExchange(audience: "billing", scope: "billing.read"))
        #expect(try RouteTable(config: config).routes[0].tokenExchange?.audience == "billing")
        let found = problems(Self.twoProviders + """
            routes:
              - { path: /a/, upstream: "http://app", token_exchange: { scope: x } }
              - { path: /b/, upstream: "http://app", auth: bearer, audiences: [x], token_exchange: { audience: b } }
              - { path: /c/, upstream: "http://app", pass_access_token: false, token_exchange: { audience: c } }
              - { path: /d/, upstream: "http://app", token_exchange: { audience: " " } }
              - { path: /e/, upstream: "http://app", token_exchange: { audience: e, resource: r } }
            """)
        for (path, message) in [
            ("routes[0].token_exchange.audience", "is required"), ("routes[1].token_exchange", "browser sessions"),
            ("routes[2].token_exchange", "needs pass_access_token"), ("routes[3].token_exchange.audience", "is empty"),
            ("routes[4].token_exchange.resource", "unknown key"),
        ] {
            #expect(found.contains { $0.path == path && $0.message.contains(message) }, "\(path): \(found)")
        }
    }

    @Test func readsTheIdleTimeoutAndRefusesOnesThatCannotWork() throws {
        let base = "provider: { issuer: \"https://idp\", client_id: c }\nserver: { public_url: \"https://portal\" }\n"
            + "routes:\n  - { path: /, upstream: \"http://app\" }\n"
        let config = try loader().load(yaml: base + "session: { secrets: [\"\(secret)\"], idle_timeout: 30m }\n")
        #expect(config.session?.idleTimeout == .seconds(1800) && config.session?.idleTimeoutSeconds == 1800)
        #expect(try loader().load(yaml: base + "session: { secrets: [\"\(secret)\"] }\n").session?.idleTimeoutSeconds == 0, "off by default")
        for (value, message) in [("500ms", "at least 1s"), ("8h", "shorter than session.lifetime"), ("9h", "shorter than session.lifetime")] {
            let found = problems(base + "session: { secrets: [\"\(secret)\"], idle_timeout: \(value) }\n")
            #expect(found.contains { $0.path == "session.idle_timeout" && $0.message.contains(message) }, "\(value): \(found)")
        }
    }

    @Test func readsHeaderTemplatesInOrder() throws {
        let config = try loader().load(yaml: """
            provider: { issuer: "https://idp", client_id: c }
            session: { secrets: ["\(secret)"] }
            server: { public_url: "https://portal" }
            routes:
              - path: /
                upstream: "http://app"
                headers:
                  Remote-User: "{user}"
                  X-Employee-Id: "E-{claims.employee_number}"
                  A-Last: "{{x}}"
            """)
        #expect(config.routes[0].headers.map(\.name) == ["Remote-User", "X-Employee-Id", "A-Last"])
        #expect(config.routes[0].headers[1].template.parts == [.literal("E-"), .value(.claim("employee_number"))])
        #expect(config.routes[0].headers[2].text == "{{x}}")
        #expect(config.keptClaimPaths == ["employee_number"], "sessions keep the claims templates read")
    }

    @Test(arguments: [
        ("headers: { X-Id: \"{usr}\" }", "routes[0].headers.X-Id", "unknown placeholder {usr}"),
        ("headers: { X-Id: \"{user\" }", "routes[0].headers.X-Id", "never closed"),
        ("headers: { \"X Id\": \"{user}\" }", "routes[0].headers.X Id", "not a valid header name"),
        ("headers: { Host: \"{user}\" }", "routes[0].headers.Host", "the request itself needs"),
        ("headers: { Content_Length: \"{user}\" }", "routes[0].headers.Content_Length", "the request itself needs"),
        ("headers: { Authorization: \"Bearer {id_token}\" }", "routes[0].headers.Authorization", "pass_access_token"),
        ("headers: { Proxy-User: \"{user}\" }", "routes[0].headers.Proxy-User", "the request itself needs"),
        ("headers: { X-Id: \"{user}\", x_id: \"{email}\" }", "routes[0].headers.x_id", "same header as another"),
        ("headers: [a]", "routes[0].headers", "must be a mapping"),
    ])
    func refusesHeaderTemplatesItCannotSend(entry: String, path: String, message: String) {
        let found = problems("""
            provider: { issuer: "https://idp", client_id: c }
            session: { secrets: ["\(secret)"] }
            server: { public_url: "https://portal" }
            routes:
              - { path: /, upstream: "http://app", \(entry) }
            """)
        #expect(found.contains { $0.path == path && $0.message.contains(message) }, "\(found)")
    }

    @Test func headerTemplatesNeedARouteThatKnowsTheUser() {
        let found = problems("routes:\n  - { path: /, upstream: \"http://app\", auth: none, headers: { X-Id: \"{user}\" } }\n")
        #expect(found.map(\.path) == ["routes[0].headers"])
    }

    /// `identity_headers: { user: Host }` sent the app two hosts.
    @Test(arguments: [
        ("auth: bearer, audiences: [\"\"]", "routes[0].audiences[0]"),
        ("auth: bearer, audiences: [api, \" \"]", "routes[0].audiences[1]"),
        ("identity_headers: { user: Host }", "routes[0].identity_headers"),
        ("identity_headers: { groups: Content_Length }", "routes[0].identity_headers"),
        ("identity_headers: { email: Transfer-Encoding }", "routes[0].identity_headers"),
    ])
    func aRouteSettingThatChangesWhatTheRequestMeansIsRefused(setting: String, path: String) {
        let found = problems(login + "\nroutes:\n  - { path: /api/, upstream: \"http://x\", \(setting) }")
        #expect(found.map(\.path).contains(path), "\(found)")
    }

    @Test func passClientAuthorizationDoesNotApplyToBearerRoutes() {
        let found = problems(login + """

            routes:
              - { path: /api/, upstream: "http://x", auth: bearer, audiences: [api], pass_client_authorization: true }
              - { path: /, upstream: "http://x", auth: none, pass_client_authorization: true, case_insensitive: true }
            """)
        #expect(found.map(\.path) == ["routes[0].pass_client_authorization"])
    }

    @Test func allowedRedirectHostsMayNameAPort() {
        #expect(problems("server: { allowed_redirect_hosts: [apps.example.org:8443, .intra.example.org] }\n" + minimalRoutes).isEmpty)
        let found = problems("server: { allowed_redirect_hosts: [\"apps.example.org:x\", \"a:1:2\", \"b:70000\"] }\n" + minimalRoutes)
        #expect(found.count == 3)
    }

    @Test func theHostPrefixIsOnByDefaultUnderHTTPSWithoutADomain() throws {
        var session = SessionConfig(secrets: [secret])
        #expect(session.usesHostPrefix(publicURL: "https://p.example.org"))
        #expect(!session.usesHostPrefix(publicURL: "http://127.0.0.1:4180"))
        session.cookieDomain = "example.org"
        #expect(!session.usesHostPrefix(publicURL: "https://p.example.org"))
        session.cookieDomain = nil
        session.cookieHostPrefix = false
        #expect(!session.usesHostPrefix(publicURL: "https://p.example.org"), "an explicit false wins")
    }

    @Test func warnsAboutTheClientIDAsABearerAudienceAndASkipRuleCoveringTheRoute() throws {
        var api = RouteConfig(path: "/api/", upstream: "http://api", auth: .bearer)
        api.audiences = ["portal"]
        var admin = RouteConfig(path: "/admin/", upstream: "http://admin")
        admin.skipAuth = [RouteConfig.SkipAuth(methods: ["OPTIONS"], path: "/*"), RouteConfig.SkipAuth(path: "/admin/health")]
        let config = GatewayConfig(provider: ProviderConfig(issuer: "https://iam.example.org/r", clientID: "portal"), routes: [api, admin])
        #expect(ConfigWarnings.all(in: config).map(\.path) == ["routes[0].audiences", "routes[1].skip_auth[0]"])
    }

    /// `config/porteiro.yaml` once had this shape: a host-bound protected route and a catch-all to
    /// the same upstream, so any other `Host` reached the protected app through the catch-all.
    @Test func aProtectedUpstreamReachableThroughAWeakerRouteIsNamed() throws {
        func warnings(_ routes: [RouteConfig]) -> [String] {
            RouteShadowing.warnings(in: GatewayConfig(routes: routes)).map(\.description)
        }
        var admin = RouteConfig(host: "portal.example.org", path: "/admin/", upstream: "http://app:8080")
        admin.allow = RouteConfig.Allow()
        admin.allow?.groups = ["admins"]
        let catchAll = RouteConfig(path: "/", upstream: "http://app:8080", auth: .optional)
        let found = warnings([admin, catchAll])
        #expect(found.count == 1 && found[0].contains("routes[0]") && found[0].contains("routes[1]"))
        var ownUpstream = admin
        ownUpstream.upstream = "http://admin:8080"
        #expect(warnings([ownUpstream, catchAll]).isEmpty)
        var sameHostGroup = admin
        sameHostGroup.host = nil
        #expect(warnings([sameHostGroup, catchAll]).isEmpty, "the table keeps /admin/ on its route")
        var stripped = RouteConfig(path: "/files/", upstream: "http://app:8080", auth: .none)
        stripped.stripPrefix = true
        #expect(warnings([sameHostGroup, stripped]).count == 1, "/files/admin/x reaches /admin/x upstream")
        let carvedOut = RouteConfig(path: "/admin/public/", upstream: "http://app:8080", auth: .none)
        #expect(warnings([sameHostGroup, carvedOut]).isEmpty, "a public path inside the protected one is deliberate")
        for alias in ["http://APP:8080", "http://app.:8080"] {
            var same = catchAll
            same.upstream = alias
            #expect(warnings([admin, same]).count == 1, "\(alias) is app:8080")
        }
        var loopback = admin
        loopback.upstream = "http://127.0.0.1:8080"
        for alias in [
            "http://localhost:8080", "http://127.1:8080", "http://[::1]:8080", "http://[::ffff:127.0.0.1]:8080",
            "http://0.0.0.0:8080", "http://[::]:8080",
        ] {
            var same = catchAll
            same.upstream = alias
            #expect(warnings([loopback, same]).count == 1, "\(alias) is 127.0.0.1:8080")
        }
        let reference = try loader(env: ["PORTEIRO_COOKIE_SECRET": secret]).load(yaml: try referenceConfigText())
        #expect(RouteShadowing.warnings(in: reference).isEmpty, "config/porteiro.yaml is an example to copy")
    }
}
