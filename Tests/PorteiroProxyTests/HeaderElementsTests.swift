import NIOHTTP1
@testable import PorteiroProxy
import Testing

/// `HTTPHeaders.elements(_:)` reads framing headers on bytes; it must split exactly as NIO's
/// `canonicalForm`, which the checks used before, on every shape a client can send.
@Suite struct HeaderElementsTests {
    @Test(arguments: [
        "chunked", " chunked ", "chunked, gzip", "gzip,chunked", ",chunked", "chunked,", ",,", "  ,  ", "", " ",
        "a , b , c", "\tchunked\t", "5, 5", "5,,5", "host.example.org:8080", "é,b",
    ])
    func splitsAsNIOsCanonicalFormDoes(value: String) {
        let headers = HTTPHeaders([("Transfer-Encoding", value), ("X-Other", "x,y"), ("transfer-encoding", value + ",z")])
        #expect(headers.elements("transfer-encoding") == headers[canonicalForm: "transfer-encoding"])
    }

    @Test func matchesCanonicalFormOnRandomValues() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(" \t,ab5-;=\"".unicodeScalars)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...12, using: &generator)
            let value = String(String.UnicodeScalarView((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
            let headers = HTTPHeaders([("Content-Length", value), ("CONTENT-LENGTH", value)])
            #expect(headers.elements("content-length") == headers[canonicalForm: "content-length"], "value: \(value.debugDescription)")
        }
    }

    /// The one difference: a comma followed by a combining mark is one `Character` to NIO's split
    /// and a separator here. Either way such a framing header is refused.
    @Test(arguments: [("Transfer-Encoding", "chunked,\u{301}"), ("Content-Length", "5,\u{301}"), ("Host", "a,\u{301}")])
    func aCommaWithACombiningMarkIsRefusedEitherWay(name: String, value: String) {
        var headers = HTTPHeaders([("Host", "gw")])
        if name == "Host" { headers = [:] }
        headers.add(name: name, value: value)
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/", headers: headers)
        #expect(RequestFraming.problem(in: head, maxHeaderCount: 100) != nil)
    }

    @Test func namesCompareWithoutCaseButNotAcrossPunctuation() {
        let headers = HTTPHeaders([("HOST", "a"), ("Host_", "b"), ("Hos", "c"), ("hOsT", "d")])
        #expect(headers.elements("host") == ["a", "d"])
    }
}
