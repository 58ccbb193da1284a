import NIOCore
import NIOHTTP1

/// What `ExchangeStateMachine` asks its owner to do, one action per event.
extension ExchangeStateMachine {
    enum Action {
        case none
        /// Let one `read` through to the socket.
        case read
        /// Count, log and write this answer; close after it unless `keepAlive` (the state is then
        /// `.idle`; tell `answerWritten()` once it is written).
        case writeAnswer(LocalAnswer)
        /// Lease a connection to the exchange's upstream (`fresh`: never a pooled one).
        case lease(ProxyExchange, fresh: Bool)
        /// The lease came back after the exchange ended: hand the connection back.
        case releaseUnused(Connection)
        /// Send the head and the parts kept meanwhile, flush; then arm the response timer and let
        /// a held read go, as told.
        case sendRequest(ProxyExchange, parts: [HTTPClientRequestPart], on: Connection, timer: ResponseTimer?, read: Bool)
        /// Write one part upstream (flushed at read-complete); arm the response timer if told.
        case forward(HTTPClientRequestPart, on: Connection, timer: ResponseTimer?)
        /// Pass the upstream's response head on (filtered, with the exchange's cookies).
        case writeResponseHead(HTTPResponseHead, ProxyExchange)
        case writeResponseBody(ByteBuffer)
        /// The response ended: release the connection, count and log, write `.end`; close after it
        /// unless `keepAlive` (else tell `answerWritten()`).
        case finishResponse(ProxyExchange, release: Connection, reusable: Bool, keepAlive: Bool)
        /// An error page instead of the app's response, which never started; close `closing`
        /// first. The answer's `keepAlive` says whether the client connection stays.
        case fail(ExchangeFailure, ProxyExchange, closing: Connection?, keepAlive: Bool)
        /// The upstream cut its response short: close the client so it sees the response is incomplete.
        case cutShort(ProxyExchange)
        /// Pass the `101` on, then join both sockets.
        case tunnel(HTTPResponseHead, ProxyExchange, Connection)
        /// The logout form is whole: verify it off the loop (the state is `.waiting`).
        case submitForm(LogoutForm)
        /// Close the client connection, and the upstream one it was using.
        case close(abandoning: Connection?)
    }

    /// Arm a timer that sends `responseTimedOut(exchange:)` after `after`.
    struct ResponseTimer: Equatable {
        var exchange: Int
        var after: Duration
    }
}
