import NIOCore
import NIOHTTP1
import PorteiroConfig

/// Decides the life of the requests on one client connection: when a local answer is written,
/// when an upstream connection is leased, where each body part goes, when a connection is released,
/// retried or closed, when a held read may go. `GatewayHandler` turns NIO's callbacks into these
/// events and performs the action each returns. It holds no channel, timer or clock, so every path
/// — pipelining, a refresh or token check in flight, a retry, a timeout, a tunnel — is tested
/// without sockets or sleeps (`ExchangeStateMachineTests`).
///
/// Each event first moves to the next state, then returns what to do: performing an action may
/// deliver the next pipelined request re-entrantly, which must find the machine already settled.
/// Generic over the upstream connection so tests use plain values.
struct ExchangeStateMachine<Connection> {
    enum State {
        /// Between requests; the owner's idle timer runs.
        case idle
        /// A local answer waits for the request's `.end` (a request with no body).
        case answering(LocalAnswer)
        /// A local answer is being worked out off the event loop (login endpoints); reads held.
        case waiting(GatewayRequest)
        /// Reading a back-channel logout's form body, up to `LogoutForm.maxBytes`.
        case collecting(LogoutForm)
        /// Who is asking is being worked out off the loop (a session refresh, a token check) before
        /// any connection is leased; reads held, body parts kept.
        case resolving(ProxyExchange)
        /// An upstream connection is being leased; reads held, body parts kept.
        case leasing(ProxyExchange)
        /// Parts flow both ways.
        case proxying(ProxyExchange, Connection)
        /// After `101 Switching Protocols` both sockets belong to a tunnel.
        case tunnelling
        case closed
    }

    private(set) var state = State.idle
    /// False between a request's head and its `.end`.
    private(set) var requestEnded = true
    /// A `read` held back while nothing can take the bytes.
    private(set) var readPending = false
    private var exchangesStarted = 0

    /// The upstream connection in use, for the owner's backpressure and flushing.
    var connection: Connection? {
        if case .proxying(_, let connection) = state { return connection }
        return nil
    }

    /// The exchange being proxied, for the owner's log lines.
    var proxyingExchange: ProxyExchange? {
        if case .proxying(let exchange, _) = state { return exchange }
        return nil
    }

    // MARK: Request side

    /// A request head arrived; the owner now decides it and calls one of `answer`, `proxy`,
    /// `awaitAnswer` or `collect`. False on a connection that is closing (its last answer said
    /// `Connection: close`): a request pipelined behind that answer is never read, let alone sent on.
    mutating func requestHeadReceived() -> Bool {
        switch state {
        case .closed, .tunnelling:
            return false
        case .idle, .answering, .waiting, .collecting, .resolving, .leasing, .proxying:
            requestEnded = false
            return true
        }
    }

    /// Answer locally: at once when the request has ended (an answer after an async hop) or when a
    /// body may follow (then the connection closes, so an unread body never becomes the next
    /// request), else at the request's `.end`.
    mutating func answer(_ response: LocalResponse, to request: GatewayRequest) -> Action {
        if requestEnded {
            return write(LocalAnswer(response: response, request: request, keepAlive: request.keepAlive))
        }
        if request.hasBody {
            return write(LocalAnswer(response: response, request: request, keepAlive: false))
        }
        state = .answering(LocalAnswer(response: response, request: request, keepAlive: request.keepAlive))
        return .none
    }

    /// Proxy: lease at once, or first wait in `.resolving` for `resolved(_:)`.
    mutating func proxy(_ exchange: ProxyExchange, resolveFirst: Bool) -> Action {
        var exchange = exchange
        exchangesStarted += 1
        exchange.number = exchangesStarted
        if resolveFirst {
            state = .resolving(exchange)
            return .none
        }
        state = .leasing(exchange)
        return .lease(exchange, fresh: false)
    }

    /// The owner works out a local answer off the loop and then calls `answer(_:to:)` after
    /// `awaitedAnswerReady()`.
    mutating func awaitAnswer(for request: GatewayRequest) {
        state = .waiting(request)
    }

    /// The async answer is ready; false when the connection has gone meanwhile.
    mutating func awaitedAnswerReady() -> Bool {
        guard case .waiting = state else { return false }
        state = .idle
        return true
    }

    /// The request's body is a back-channel logout form to read.
    mutating func collect(_ form: LogoutForm) {
        state = .collecting(form)
    }

    mutating func requestBodyReceived(_ buffer: ByteBuffer) -> Action {
        switch state {
        case .collecting(var form):
            state = .closed  // no copy of the body while it grows
            var buffer = buffer
            form.body.writeBuffer(&buffer)
            guard form.body.readableBytes <= LogoutForm.maxBytes else {
                return write(LocalAnswer(response: LogoutForm.tooLarge, request: form.request, keepAlive: false))
            }
            state = .collecting(form)
            return .none
        case .resolving(var exchange):
            exchange.buffered.append(.body(.byteBuffer(buffer)))
            state = .resolving(exchange)
            return .none
        case .leasing(var exchange):
            exchange.buffered.append(.body(.byteBuffer(buffer)))
            state = .leasing(exchange)
            return .none
        case .proxying(_, let connection):
            return .forward(.body(.byteBuffer(buffer)), on: connection, timer: nil)
        case .idle, .answering, .waiting, .tunnelling, .closed:
            return .none
        }
    }

    /// The request's `.end`. A client's trailer fields never reach the app: some servers merge them
    /// into the headers, where `X-Forwarded-User: admin` would pass every rule above.
    mutating func requestEndReceived() -> Action {
        requestEnded = true
        switch state {
        case .collecting(let form):
            state = .waiting(form.request)
            return .submitForm(form)
        case .answering(let answer):
            return write(answer)
        case .resolving(var exchange):
            exchange.requestComplete = true
            exchange.buffered.append(.end(nil))
            state = .resolving(exchange)
            return .none
        case .leasing(var exchange):
            exchange.requestComplete = true
            exchange.buffered.append(.end(nil))
            state = .leasing(exchange)
            return .none
        case .proxying(var exchange, let connection):
            exchange.requestComplete = true
            let timer = armResponseTimer(&exchange)
            state = .proxying(exchange, connection)
            return .forward(.end(nil), on: connection, timer: timer)
        case .idle, .waiting, .tunnelling, .closed:
            return .none
        }
    }

    // MARK: Resolving who is asking

    /// The exchange parked in `.resolving`, while it still is.
    var resolvingExchange: ProxyExchange? {
        if case .resolving(let exchange) = state { return exchange }
        return nil
    }

    /// The identity is known: go upstream with the exchange as `update` leaves it (identity headers,
    /// a refreshed cookie). `.none` when the client has gone meanwhile.
    mutating func resolved(_ update: (inout ProxyExchange) -> Void) -> Action {
        guard case .resolving(var exchange) = state else { return .none }
        update(&exchange)
        state = .leasing(exchange)
        return .lease(exchange, fresh: false)
    }

    /// The parked exchange is answered locally instead (refused, anonymous, IdP unavailable); the
    /// owner then calls `answer(_:to:)`.
    mutating func resolvedToAnswer() -> GatewayRequest? {
        guard case .resolving(let exchange) = state else { return nil }
        state = .idle
        return exchange.request
    }

    /// The resolution failed in a way that ends the exchange with an error page.
    mutating func resolutionFailed(_ failure: ExchangeFailure) -> Action {
        guard case .resolving(let exchange) = state else { return .none }
        return fail(failure, exchange, closing: nil)
    }

    // MARK: Upstream side

    mutating func leased(_ connection: Connection, isWritable: Bool) -> Action {
        guard case .leasing(var exchange) = state else {
            // The client left while we connected; the connection can serve someone else.
            return .releaseUnused(connection)
        }
        let parts = exchange.buffered
        exchange.buffered = []
        let timer = exchange.requestComplete ? armResponseTimer(&exchange) : nil
        let read = readPending && isWritable
        if read { readPending = false }
        state = .proxying(exchange, connection)
        return .sendRequest(exchange, parts: parts, on: connection, timer: timer, read: read)
    }

    mutating func leaseFailed(_ failure: ExchangeFailure) -> Action {
        guard case .leasing(let exchange) = state else { return .none }
        return fail(failure, exchange, closing: nil)
    }

    mutating func upstreamHeadReceived(_ head: HTTPResponseHead) -> Action {
        guard case .proxying(var exchange, let connection) = state else { return .none }
        exchange.responseHeadReceived = true
        exchange.status = head.status.code
        exchange.upstreamKeepAlive = head.isKeepAlive
        if head.status == .switchingProtocols {
            guard let upgrade = exchange.upgrade, upgrade.accepts(head) else {
                // What follows would be raw bytes Porteiro cannot check.
                exchange.responseHeadReceived = false
                return fail(
                    ExchangeFailure(status: .badGateway, text: .appSwitchedProtocols,
                                    reason: "101 Switching Protocols that answers no WebSocket handshake"),
                    exchange, closing: connection)
            }
            state = .tunnelling
            return .tunnel(head, exchange, connection)
        }
        guard (200...599).contains(head.status.code) else {
            // The client would get a status line no HTTP client can read (`011`, `999`).
            exchange.responseHeadReceived = false
            return fail(
                ExchangeFailure(status: .badGateway, text: .appUnreachable, reason: "invalid response status \(head.status.code)"),
                exchange, closing: connection)
        }
        state = .proxying(exchange, connection)
        return .writeResponseHead(head, exchange)
    }

    mutating func upstreamBodyReceived(_ buffer: ByteBuffer) -> Action {
        guard case .proxying(var exchange, let connection) = state else { return .none }
        exchange.responseBytes += buffer.readableBytes
        state = .proxying(exchange, connection)
        return .writeResponseBody(buffer)
    }

    /// An app's trailer fields are not passed on: a `Set-Cookie` there would escape the filtering
    /// its head went through.
    mutating func upstreamEndReceived() -> Action {
        guard case .proxying(let exchange, let connection) = state else { return .none }
        let keepAlive = exchange.clientKeepAlive && exchange.requestComplete
        state = keepAlive ? .idle : .closed
        return .finishResponse(
            exchange, release: connection, reusable: exchange.upstreamKeepAlive && exchange.requestComplete, keepAlive: keepAlive)
    }

    /// The upstream connection closed. A reused one may have been closed by the upstream just as
    /// the request went out: an idempotent request without a body is sent once more, on a fresh one.
    mutating func upstreamClosed(wasReused: Bool) -> Action {
        guard case .proxying(var exchange, _) = state else { return .none }
        if exchange.canRetry(onReused: wasReused) {
            exchange.retried = true
            exchange.responseTimerArmed = false
            exchangesStarted += 1
            exchange.number = exchangesStarted  // a timer armed for the first try is not this one's
            exchange.buffered = exchange.requestComplete ? [.end(nil)] : []
            state = .leasing(exchange)
            return .lease(exchange, fresh: true)
        }
        if !exchange.responseHeadReceived {
            return fail(
                ExchangeFailure(status: .badGateway, text: .appHungUp, reason: "closed the connection before answering"),
                exchange, closing: nil)
        }
        state = .closed
        return .cutShort(exchange)
    }

    /// The response timer of exchange `number` fired.
    mutating func responseTimedOut(exchange number: Int) -> Action {
        guard case .proxying(let exchange, let connection) = state, exchange.number == number,
            !exchange.responseHeadReceived
        else { return .none }
        let limit = ConfigDuration.format(exchange.route.timeout)
        return fail(
            ExchangeFailure(status: .gatewayTimeout, text: .appSilent,
                            reason: "no response within \(limit) (routes[\(exchange.route.index)].timeout)"),
            exchange, closing: connection)
    }

    // MARK: Reads and the connection

    /// NIO asks to read. Held while nothing could take the bytes: during a resolution, a lease, an
    /// async answer, or while the upstream connection is not writable.
    mutating func readRequested(upstreamIsWritable: Bool) -> Action {
        switch state {
        case .resolving, .leasing, .waiting:
            readPending = true
            return .none
        case .proxying where !upstreamIsWritable:
            readPending = true
            return .none
        default:
            return .read
        }
    }

    /// The upstream can take bytes again.
    mutating func upstreamBecameWritable() -> Action {
        guard readPending else { return .none }
        readPending = false
        return .read
    }

    /// A kept-alive answer is on its way: a read held meanwhile may go, unless a pipelined request
    /// delivered during the write has started another exchange.
    mutating func answerWritten() -> Action {
        guard readPending, case .idle = state else { return .none }
        readPending = false
        return .read
    }

    mutating func idleTimerFired() -> Action {
        guard case .idle = state else { return .none }
        state = .closed
        return .close(abandoning: nil)
    }

    /// The client connection closed or failed: drop the upstream side too.
    mutating func clientClosed() -> Connection? {
        defer { state = .closed }
        return connection
    }

    /// True when an unreadable request may still get a 400 (nothing else is being answered).
    var canAnswerUnreadable: Bool {
        if case .idle = state { return true }
        return false
    }

    // MARK: Helpers

    private mutating func write(_ answer: LocalAnswer) -> Action {
        state = answer.keepAlive ? .idle : .closed
        return .writeAnswer(answer)
    }

    private mutating func fail(_ failure: ExchangeFailure, _ exchange: ProxyExchange, closing: Connection?) -> Action {
        let keepAlive = exchange.clientKeepAlive && exchange.requestComplete
        state = keepAlive ? .idle : .closed
        return .fail(failure, exchange, closing: closing, keepAlive: keepAlive)
    }

    /// Armed once per exchange, when the request has been sent whole and no response has started.
    private func armResponseTimer(_ exchange: inout ProxyExchange) -> ResponseTimer? {
        guard !exchange.responseHeadReceived, !exchange.responseTimerArmed else { return nil }
        exchange.responseTimerArmed = true
        return ResponseTimer(exchange: exchange.number, after: exchange.route.timeout)
    }
}
