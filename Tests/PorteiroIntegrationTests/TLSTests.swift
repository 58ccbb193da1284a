import Foundation
import PorteiroConfig
import PorteiroServer
import Testing

/// TLS termination with HTTP/2 and HTTP/1.1 (checked with curl, an independent client), certificate
/// renewal without a restart, and `https://` upstreams with verification.
@Suite struct TLSTests {
    @Test func servesHTTP2AndHTTP11OverTLS() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let certificate = try TestCertificate.make(commonName: "first")
        try await withGateway(routes: [RouteConfig(path: "/", upstream: upstream.url, auth: .none)], configure: {
            $0.server.tls = TLSConfig(certificateFile: certificate.certificateFile, keyFile: certificate.keyFile)
        }) { server, _ in
            let url = "https://localhost:\(server.port)/echo?x=1"
            let h2 = try Curl.run(["--http2", "--cacert", certificate.certificateFile, url])
            #expect(h2.version == "2", "\(h2)")
            #expect(h2.body.hasPrefix("GET /echo?x=1\n"), "\(h2.body)")
            #expect(h2.body.contains("host: localhost:\(server.port)"), ":authority becomes Host: \(h2.body)")
            #expect(h2.body.lowercased().contains("x-forwarded-proto: https"))
            let h1 = try Curl.run(["--http1.1", "--cacert", certificate.certificateFile, url])
            #expect(h1.version == "1.1", "\(h1)")
            let upload = try Curl.run(["--http2", "--cacert", certificate.certificateFile, "--data-binary", "hello h2", url])
            #expect(upload.version == "2" && upload.body.contains("POST /echo?x=1"), "\(upload)")
            #expect(upload.body.contains("body-bytes: 8\n"), "\(upload.body)")
        }
    }

    @Test func renewedCertificateIsServedWithoutARestart() async throws {
        let first = try TestCertificate.make(commonName: "first")
        try await withGateway(routes: [], configure: {
            $0.server.tls = TLSConfig(certificateFile: first.certificateFile, keyFile: first.keyFile)
        }) { server, log in
            let url = "https://localhost:\(server.port)/ping"
            #expect(try Curl.run(["--insecure", "--verbose", url]).log.contains("CN=first"))
            let second = try TestCertificate.make(commonName: "second")
            try FileManager.default.removeItem(atPath: first.keyFile)
            try FileManager.default.copyItem(atPath: second.keyFile, toPath: first.keyFile)
            try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: first.certificateFile))
            server.reloadCertificatesIfChanged()
            #expect(log.contains("TLS certificate rejected"), "a half-written renewal is refused")
            #expect(try Curl.run(["--insecure", "--verbose", url]).log.contains("CN=first"), "the old pair keeps serving")
            try FileManager.default.removeItem(atPath: first.certificateFile)
            try FileManager.default.copyItem(atPath: second.certificateFile, toPath: first.certificateFile)
            server.reloadCertificatesIfChanged()
            #expect(log.contains("TLS certificate reloaded"))
            #expect(try Curl.run(["--insecure", "--verbose", url]).log.contains("CN=second"))
        }
    }

    @Test func proxiesToHTTPSUpstreamsAndVerifiesThem() async throws {
        let app = try await TestUpstream.start()
        defer { Task { await app.stop() } }
        let certificate = try TestCertificate.make(commonName: "localhost")
        try await withGateway(routes: [RouteConfig(path: "/", upstream: app.url, auth: .none)], configure: {
            $0.server.tls = TLSConfig(certificateFile: certificate.certificateFile, keyFile: certificate.keyFile)
        }) { tlsUpstream, _ in
            let routes = [RouteConfig(path: "/", upstream: "https://localhost:\(tlsUpstream.port)", auth: .none)]
            try await withGateway(routes: routes, configure: { $0.upstream.caFile = certificate.certificateFile }) { gateway, _ in
                let response = try await TestHTTPConnection.with(port: gateway.port) { try await $0.request(.GET, "/echo") }
                #expect(response.status == 200)
                #expect(response.text.lowercased().contains("x-forwarded-proto: https"), "it went through the TLS hop")
            }
            try await withGateway(routes: routes) { gateway, log in
                let response = try await TestHTTPConnection.with(port: gateway.port) { try await $0.request(.GET, "/echo") }
                #expect(response.status == 502, "an unknown CA is refused")
                #expect(log.contains("upstream failed"))
            }
            try await withGateway(routes: routes, configure: { $0.upstream.insecureSkipVerify = true }) { gateway, log in
                let response = try await TestHTTPConnection.with(port: gateway.port) { try await $0.request(.GET, "/echo") }
                #expect(response.status == 200)
                #expect(log.contains("insecure_skip_verify is on"))
            }
        }
    }
}

/// A self-signed certificate for `localhost` made with the openssl command line.
struct TestCertificate {
    let certificateFile: String
    let keyFile: String

    static func make(commonName: String) throws -> TestCertificate {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("porteiro-tls-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let certificate = TestCertificate(certificateFile: folder + "/cert.pem", keyFile: folder + "/key.pem")
        let result = try Tool.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", certificate.keyFile, "-out", certificate.certificateFile,
        ])
        try #require(result.status == 0, "openssl failed (install it: apt-get install openssl): \(result.log)")
        return certificate
    }
}

/// curl, printing the HTTP version it spoke after the body.
enum Curl {
    struct Result {
        let version: String
        let body: String
        let log: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let marker = "\n--http-version:"
        let result = try Tool.run("/usr/bin/curl", ["--silent", "--show-error", "--max-time", "10", "--write-out", marker + "%{http_version}"] + arguments)
        try #require(result.status == 0, "curl \(arguments) failed (install it: apt-get install curl): \(result.log)")
        let parts = result.output.components(separatedBy: marker)
        return Result(version: parts.last ?? "", body: parts.dropLast().joined(), log: result.log)
    }
}

enum Tool {
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String, log: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let log = Pipe()
        process.standardOutput = output
        process.standardError = log
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let logData = log.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: logData, as: UTF8.self))
    }
}
