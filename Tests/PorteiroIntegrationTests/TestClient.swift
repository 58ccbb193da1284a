import NIOCore
import NIOHTTP1
import NIOPosix

struct TestResponse {
    let head: HTTPResponseHead
    let body: ByteBuffer

    var status: UInt { head.status.code }
    var text: String { String(buffer: body) }
    func header(_ name: String) -> String? { head.headers.first(name: name) }
}

/// One keep-alive HTTP/1.1 client connection speaking through NIO's client codec.
final class TestHTTPConnection {
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator

    private init(
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    ) {
        self.outbound = outbound
        self.inbound = inbound.makeAsyncIterator()
    }

    /// Connects, runs `body`, and closes the connection whatever happens.
    static func with<Result>(port: Int, _ body: (TestHTTPConnection) async throws -> Result) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(TestHTTPConnection(inbound: inbound, outbound: outbound))
        }
    }

    /// Sends a request whose body is `body` split in `parts` writes, and reads the whole response.
    func request(
        _ method: HTTPMethod = .GET, _ uri: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        try await send(method, uri, headers: headers, body: body.map { [$0] } ?? [])
        return try await readResponse()
    }

    func send(_ method: HTTPMethod, _ uri: String, headers: HTTPHeaders = [:], body: [ByteBuffer]) async throws {
        var headers = headers
        if !headers.contains(name: "host") { headers.add(name: "Host", value: "gateway.test") }
        // One write: a gateway that answers early (an upstream that hangs up at the head) must not
        // find half a request, or closing after its answer would race the client's next write.
        let head = HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers))
        try await outbound.write(contentsOf: [head] + body.map { .body(.byteBuffer($0)) } + [.end(nil)])
    }

    func writeBody(_ part: ByteBuffer) async throws {
        try await outbound.write(.body(.byteBuffer(part)))
    }

    func readResponse() async throws -> TestResponse {
        let head = try await readHead()
        var body = ByteBuffer()
        while let part = try await inbound.next() {
            switch part {
            case .head: throw TestClientError.unexpected("second head")
            case .body(var buffer): body.writeBuffer(&buffer)
            case .end: return TestResponse(head: head, body: body)
            }
        }
        throw TestClientError.closed
    }

    /// Reads a response body part by part, handing each to `check`, and returns the byte count.
    func readStreamedResponse(check: (ByteBuffer, Int) -> Void) async throws -> (HTTPResponseHead, Int) {
        let head = try await readHead()
        var total = 0
        while let part = try await inbound.next() {
            switch part {
            case .head: throw TestClientError.unexpected("second head")
            case .body(let buffer):
                check(buffer, total)
                total += buffer.readableBytes
            case .end: return (head, total)
            }
        }
        throw TestClientError.closed
    }

    func readHead() async throws -> HTTPResponseHead {
        guard case .head(let head)? = try await inbound.next() else { throw TestClientError.unexpected("no head") }
        return head
    }
}

/// A connection that sends and receives raw bytes, for what a well-behaved client never does.
final class RawConnection {
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var received = ""

    private init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.outbound = outbound
        self.inbound = inbound.makeAsyncIterator()
    }

    /// Connects, runs `body`, and closes the connection whatever happens.
    static func with<Result>(port: Int, _ body: (RawConnection) async throws -> Result) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(RawConnection(inbound: inbound, outbound: outbound))
        }
    }

    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    /// Reads until `marker` has arrived `count` times; returns everything received so far.
    func read(until marker: String, count: Int = 1) async throws -> String {
        while received.components(separatedBy: marker).count - 1 < count {
            guard let buffer = try await inbound.next() else { throw TestClientError.closed }
            received += String(buffer: buffer)
        }
        return received
    }

    /// Reads raw bytes until `length` more bytes have arrived.
    func readBytes(_ length: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < length {
            guard let buffer = try await inbound.next() else { throw TestClientError.closed }
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    /// Reads until the gateway closes the connection; returns everything received.
    func readToEnd() async throws -> String {
        while let buffer = try await inbound.next() {
            received += String(buffer: buffer)
        }
        return received
    }
}

enum TestClientError: Error {
    case closed
    case unexpected(String)
}
