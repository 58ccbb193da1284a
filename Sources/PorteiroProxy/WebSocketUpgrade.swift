import Crypto
import ExtrasBase64
public import NIOHTTP1

/// A client's request to switch to the WebSocket protocol (RFC 6455 §4.1), the only upgrade
/// Porteiro tunnels. Anything else that says `Upgrade` (`h2c`, `foo/1`) is proxied as a plain
/// request with the upgrade headers removed: once a tunnel is open, Porteiro sees no more requests,
/// so a fake upgrade would let raw requests reach the app unchecked.
///
/// The tunnel opens only after a `101` whose `Sec-WebSocket-Accept` answers this request's key
/// (`accepts(_:)`): proof that the upstream speaks WebSocket, not merely that it said 101.
public struct WebSocketUpgrade: Sendable, Equatable {
    /// The `Sec-WebSocket-Accept` the upstream must answer with.
    public let expectedAccept: String

    static let keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Nil unless `head` is a well-formed WebSocket opening handshake over HTTP/1.1: GET,
    /// `Connection: upgrade`, `Upgrade: websocket` alone, version 13 and a key that is base64 of 16
    /// bytes (§4.2.1).
    public init?(_ head: HTTPRequestHead) {
        guard head.method == .GET, head.version == .http1_1,
            head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" }),
            head.headers[canonicalForm: "upgrade"].map({ $0.lowercased() }) == ["websocket"],
            head.headers[canonicalForm: "sec-websocket-version"] == ["13"],
            let key = head.headers.first(name: "sec-websocket-key"), head.headers[canonicalForm: "sec-websocket-key"].count == 1,
            let bytes = try? Base64.decode(string: key), bytes.count == 16
        else { return nil }
        let digest = Insecure.SHA1.hash(data: Array((key + Self.keyGUID).utf8))
        self.expectedAccept = Base64.encodeToString(bytes: Array(digest))
    }

    /// True for a `101` that completes this handshake (§4.2.2): `Upgrade: websocket`,
    /// `Connection: upgrade` and the expected accept value.
    public func accepts(_ head: HTTPResponseHead) -> Bool {
        head.status == .switchingProtocols
            && head.headers[canonicalForm: "upgrade"].map({ $0.lowercased() }) == ["websocket"]
            && head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" })
            && head.headers[canonicalForm: "sec-websocket-accept"] == [Substring(expectedAccept)]
    }
}
