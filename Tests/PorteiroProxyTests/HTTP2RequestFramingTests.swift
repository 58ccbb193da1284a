import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import PorteiroProxy
import Testing

/// An HTTP/2 request's body framed for HTTP/1.1, part by part.
@Suite struct HTTP2RequestFramingTests {
    func passed(_ parts: [HTTPServerRequestPart]) throws -> [HTTPServerRequestPart] {
        let channel = EmbeddedChannel(handler: HTTP2RequestFraming())
        for part in parts { try channel.writeInbound(part) }
        var out: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { out.append(part) }
        return out
    }

    static func head(_ method: HTTPMethod, _ headers: HTTPHeaders = [:]) -> HTTPRequestHead {
        HTTPRequestHead(version: .init(major: 2, minor: 0), method: method, uri: "/public/x", headers: headers)
    }

    /// The red team's smuggling: a GET whose DATA held a second request reached the app unframed.
    @Test(arguments: [HTTPMethod.GET, .HEAD, .DELETE, .TRACE, .OPTIONS, .POST])
    func aBodyWithoutContentLengthIsChunked(method: HTTPMethod) throws {
        let body = ByteBuffer(string: "POST /admin/delete-all HTTP/1.1\r\nHost: app\r\n\r\n")
        let out = try passed([.head(Self.head(method)), .body(body), .end(nil)])
        guard out.count == 3, case .head(let head) = out[0], case .body(let passedBody) = out[1], case .end = out[2] else {
            Issue.record("got \(out)")
            return
        }
        #expect(head.headers["transfer-encoding"] == ["chunked"], "framed, so the app reads it as this request's body")
        #expect(passedBody == body)
        #expect(RequestFraming.hasBody(head.headers))
    }

    @Test func aRequestWithoutABodyPassesAsItCame() throws {
        let out = try passed([.head(Self.head(.GET)), .end(nil)])
        guard out.count == 2, case .head(let head) = out[0], case .end = out[1] else {
            Issue.record("got \(out)")
            return
        }
        #expect(!head.headers.contains(name: "transfer-encoding"))
    }

    /// The client waits for `100 Continue` before its DATA: the head cannot wait for it.
    @Test func aRequestExpectingContinueIsChunkedAtOnce() throws {
        let out = try passed([.head(Self.head(.PUT, ["expect": "100-continue"]))])
        guard out.count == 1, case .head(let head) = out[0] else {
            Issue.record("got \(out)")
            return
        }
        #expect(head.headers["transfer-encoding"] == ["chunked"])
    }

    @Test func aContentLengthFramesTheBodyAlready() throws {
        let out = try passed([.head(Self.head(.PUT, ["content-length": "2"])), .body(ByteBuffer(string: "ok")), .end(nil)])
        guard out.count == 3, case .head(let head) = out[0] else {
            Issue.record("got \(out)")
            return
        }
        #expect(head.headers["content-length"] == ["2"] && !head.headers.contains(name: "transfer-encoding"))
    }
}
