import NIOCore
import NIOHTTP1
import PorteiroConfig
@testable import PorteiroProxy
import PorteiroRouting
import Testing

/// Every path of one client connection's exchanges, as events in and actions out: no sockets, no
/// timers, no sleeps. Connections are plain numbers.
@Suite struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine<Int>

    static let route: Route = {
        var config = GatewayConfig(routes: [RouteConfig(path: "/", upstream: "http://app:8080", auth: .none)])
        config.routes[0].timeout = .seconds(30)
        let table = try! RouteTable(config: config)
        guard case .route(let route) = table.lookup(host: "gw", target: try! RequestTarget.parse("/").get()) else {
            fatalError("the test route must match /")
        }
        return route
    }()

    static func request(_ method: HTTPMethod = .GET, headers: HTTPHeaders = ["Host": "gw"], version: HTTPVersion = .http1_1)
        -> GatewayRequest
    {
        let head = HTTPRequestHead(version: version, method: method, uri: "/", headers: headers)
        return GatewayRequest(head: head, requestID: "r1", log: AccessLogEntry(method: method, start: .uptimeNanoseconds(0)))
    }

    static func exchange(_ request: GatewayRequest = request(), upgrade: WebSocketUpgrade? = nil) -> ProxyExchange {
        ProxyExchange(request: request, route: route, upstreamHead: request.head, upgrade: upgrade)
    }

    static func response(_ status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }

    /// A machine proxying a whole GET on connection 7: leased, request sent, response awaited.
    static func proxyingGET() -> Machine {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(exchange(), resolveFirst: false)
        _ = machine.requestEndReceived()
        _ = machine.leased(7, isWritable: true)
        return machine
    }

    // MARK: Local answers

    @Test func aLocalAnswerWaitsForTheRequestsEnd() {
        var machine = Machine()
        machine.requestHeadReceived()
        guard case .none = machine.answer(.plain(.notFound, "no"), to: Self.request()) else {
            Issue.record("answered before the request ended")
            return
        }
        guard case .writeAnswer(let answer) = machine.requestEndReceived() else {
            Issue.record("no answer at the end")
            return
        }
        #expect(answer.response.status == .notFound && answer.keepAlive)
        guard case .idle = machine.state else { Issue.record("not idle after a kept-alive answer"); return }
    }

    @Test func aLocalAnswerToARequestWithABodyIsWrittenAtOnceAndCloses() {
        var machine = Machine()
        machine.requestHeadReceived()
        let request = Self.request(.POST, headers: ["Host": "gw", "Content-Length": "5"])
        guard case .writeAnswer(let answer) = machine.answer(.plain(.forbidden, "no"), to: request) else {
            Issue.record("a body could follow; the answer must not wait for it")
            return
        }
        #expect(!answer.keepAlive)
        guard case .closed = machine.state else { Issue.record("the unread body must not become a request"); return }
        guard case .none = machine.requestBodyReceived(ByteBuffer(string: "hello")) else { Issue.record("body after close"); return }
    }

    @Test func anAsyncAnswerHoldsReadsAndIsWrittenWhenReady() {
        var machine = Machine()
        machine.requestHeadReceived()
        let request = Self.request()
        machine.awaitAnswer(for: request)
        _ = machine.requestEndReceived()
        guard case .none = machine.readRequested(upstreamIsWritable: true) else { Issue.record("read not held"); return }
        let ready = machine.awaitedAnswerReady()
        #expect(ready)
        guard case .writeAnswer(let answer) = machine.answer(.plain(.ok, "ok"), to: request) else {
            Issue.record("the request had ended: answer at once")
            return
        }
        #expect(answer.keepAlive)
        guard case .read = machine.answerWritten() else { Issue.record("the held read must go after the answer"); return }
    }

    @Test func anAsyncAnswerForAClosedConnectionIsDropped() {
        var machine = Machine()
        machine.requestHeadReceived()
        machine.awaitAnswer(for: Self.request())
        #expect(machine.clientClosed() == nil)
        let ready = machine.awaitedAnswerReady()
        #expect(!ready, "the answer of a closed connection is dropped")
    }

    @Test func http10AndConnectionCloseAnswersCloseTheConnection() {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.requestEndReceived()
        guard case .writeAnswer(let answer) = machine.answer(.plain(.ok, ""), to: Self.request(version: .http1_0)) else {
            Issue.record("no answer")
            return
        }
        #expect(!answer.keepAlive)
        guard case .closed = machine.state else { Issue.record("HTTP/1.0 without keep-alive must close"); return }
    }

    // MARK: Proxying

    @Test func partsThatArriveWhileLeasingAreSentInOrderWithTheHead() {
        var machine = Machine()
        machine.requestHeadReceived()
        let request = Self.request(.POST, headers: ["Host": "gw", "Content-Length": "4"])
        guard case .lease(_, fresh: false) = machine.proxy(Self.exchange(request), resolveFirst: false) else {
            Issue.record("no lease")
            return
        }
        _ = machine.requestBodyReceived(ByteBuffer(string: "ab"))
        _ = machine.requestBodyReceived(ByteBuffer(string: "cd"))
        _ = machine.requestEndReceived()
        guard case .sendRequest(_, let parts, on: 7, let timer, read: false) = machine.leased(7, isWritable: true) else {
            Issue.record("the request was not sent on the leased connection")
            return
        }
        #expect(parts.count == 3)
        if case .body(.byteBuffer(let first)) = parts[0] { #expect(String(buffer: first) == "ab") }
        if case .end = parts[2] {} else { Issue.record("the end must come last") }
        #expect(timer == Machine.ResponseTimer(exchange: 1, after: .seconds(30)), "the whole request is sent: the response timer runs")
    }

    @Test func partsWhileProxyingGoStraightUpstreamAndTheTimerStartsAtTheEnd() {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(Self.request(.POST, headers: ["Host": "gw", "Transfer-Encoding": "chunked"])), resolveFirst: false)
        guard case .sendRequest(_, let parts, on: 7, timer: nil, read: false) = machine.leased(7, isWritable: true) else {
            Issue.record("no timer before the request is whole")
            return
        }
        #expect(parts.isEmpty)
        guard case .forward(.body, on: 7, timer: nil) = machine.requestBodyReceived(ByteBuffer(string: "x")) else {
            Issue.record("body not forwarded")
            return
        }
        guard case .forward(.end, on: 7, let timer) = machine.requestEndReceived() else { Issue.record("end not forwarded"); return }
        #expect(timer?.exchange == 1)
    }

    @Test func aWholeResponseReleasesTheConnectionForReuseAndSettlesBeforeTheEndIsWritten() {
        var machine = Self.proxyingGET()
        guard case .writeResponseHead(let head, _) = machine.upstreamHeadReceived(Self.response()) else {
            Issue.record("head not passed on")
            return
        }
        #expect(head.status == .ok)
        guard case .writeResponseBody = machine.upstreamBodyReceived(ByteBuffer(string: "hello")) else { Issue.record("body"); return }
        guard case .finishResponse(let exchange, release: 7, reusable: true, keepAlive: true) = machine.upstreamEndReceived() else {
            Issue.record("connection not released for reuse")
            return
        }
        #expect(exchange.responseBytes == 5 && exchange.status == 200)
        // Writing the `.end` may deliver the next pipelined request at once: it must find `.idle`.
        guard case .idle = machine.state else { Issue.record("not settled before the final write"); return }
        machine.requestHeadReceived()
        guard case .lease = machine.proxy(Self.exchange(), resolveFirst: false) else { Issue.record("the next request did not start"); return }
        #expect(machine.resolvingExchange == nil)
    }

    @Test func aResponseThatEndsBeforeTheRequestClosesBothSides() {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(Self.request(.POST, headers: ["Host": "gw", "Content-Length": "9"])), resolveFirst: false)
        _ = machine.leased(7, isWritable: true)
        _ = machine.upstreamHeadReceived(Self.response(.payloadTooLarge))
        guard case .finishResponse(_, release: 7, reusable: false, keepAlive: false) = machine.upstreamEndReceived() else {
            Issue.record("an unfinished request body leaves neither connection reusable")
            return
        }
        guard case .closed = machine.state else { Issue.record("not closed"); return }
    }

    @Test func anUpstreamConnectionCloseIsNotReused() {
        var machine = Self.proxyingGET()
        _ = machine.upstreamHeadReceived(Self.response(headers: ["Connection": "close"]))
        guard case .finishResponse(_, release: 7, reusable: false, keepAlive: true) = machine.upstreamEndReceived() else {
            Issue.record("the app said close: the connection must not be pooled")
            return
        }
    }

    // MARK: Retries, failures, timeouts

    @Test func anIdempotentRequestIsRetriedOnceOnAFreshConnection() {
        var machine = Self.proxyingGET()
        guard case .lease(let exchange, fresh: true) = machine.upstreamClosed(wasReused: true) else {
            Issue.record("no retry")
            return
        }
        #expect(exchange.retried && exchange.number == 2)
        guard case .sendRequest(_, let parts, on: 8, let timer, read: false) = machine.leased(8, isWritable: true) else {
            Issue.record("not sent again")
            return
        }
        #expect(parts.count == 1 && timer?.exchange == 2)
        guard case .none = machine.responseTimedOut(exchange: 1) else {
            Issue.record("the first try's timer must not end the retry")
            return
        }
        guard case .fail(let failure, _, closing: nil, keepAlive: true) = machine.upstreamClosed(wasReused: true) else {
            Issue.record("a second close is a 502")
            return
        }
        #expect(failure.status == .badGateway && failure.text == .appHungUp)
    }

    @Test(arguments: [
        (HTTPMethod.POST, HTTPHeaders(), true),
        (HTTPMethod.PUT, HTTPHeaders([("Content-Length", "3")]), true),
        (HTTPMethod.GET, HTTPHeaders(), false),
    ])
    func noRetryForABodyANonIdempotentMethodOrAFreshConnection(method: HTTPMethod, headers: HTTPHeaders, reused: Bool) {
        var machine = Machine()
        var allHeaders = headers
        allHeaders.add(name: "Host", value: "gw")
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(Self.request(method, headers: allHeaders)), resolveFirst: false)
        _ = machine.leased(7, isWritable: true)
        guard case .fail(let failure, _, closing: nil, keepAlive: false) = machine.upstreamClosed(wasReused: reused) else {
            Issue.record("retried \(method) (reused: \(reused))")
            return
        }
        #expect(failure.status == .badGateway)
    }

    @Test func aCloseAfterTheResponseStartedCutsTheClientShort() {
        var machine = Self.proxyingGET()
        _ = machine.upstreamHeadReceived(Self.response())
        guard case .cutShort = machine.upstreamClosed(wasReused: true) else { Issue.record("not cut short"); return }
        guard case .closed = machine.state else { Issue.record("not closed"); return }
    }

    @Test func aSilentUpstreamIs504AndItsConnectionClosed() {
        var machine = Self.proxyingGET()
        guard case .none = machine.responseTimedOut(exchange: 9) else { Issue.record("another exchange's timer"); return }
        guard case .fail(let failure, _, closing: 7, keepAlive: true) = machine.responseTimedOut(exchange: 1) else {
            Issue.record("no 504")
            return
        }
        #expect(failure.status == .gatewayTimeout && failure.reason.contains("routes[0].timeout"))
        var answered = Self.proxyingGET()
        _ = answered.upstreamHeadReceived(Self.response())
        guard case .none = answered.responseTimedOut(exchange: 1) else { Issue.record("a response had started"); return }
    }

    @Test func aLeaseThatFailsIsAnErrorPageAndOneThatComesTooLateIsReleased() {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(), resolveFirst: false)
        _ = machine.requestEndReceived()
        let refused = ExchangeFailure(status: .badGateway, text: .appUnreachable, reason: "refused")
        guard case .fail(refused, _, closing: nil, keepAlive: true) = machine.leaseFailed(refused) else {
            Issue.record("no 502")
            return
        }
        guard case .releaseUnused(7) = machine.leased(7, isWritable: true) else { Issue.record("a late lease must go back"); return }
    }

    @Test func upstreamStatusesNoClientCanReadAre502() {
        var machine = Self.proxyingGET()
        let head = HTTPResponseHead(version: .http1_1, status: .custom(code: 999, reasonPhrase: "x"))
        guard case .fail(let failure, _, closing: 7, keepAlive: true) = machine.upstreamHeadReceived(head) else {
            Issue.record("status 999 passed")
            return
        }
        #expect(failure.reason.contains("999"))
    }

    // MARK: WebSocket

    @Test func a101OnlyOpensATunnelForTheRequestsOwnHandshake() throws {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        let request = Self.request(headers: [
            "Host": "gw", "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key,
        ])
        let upgrade = try #require(WebSocketUpgrade(request.head))
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(request, upgrade: upgrade), resolveFirst: false)
        _ = machine.requestEndReceived()
        _ = machine.leased(7, isWritable: true)
        let wrong = Self.response(.switchingProtocols, headers: ["Connection": "upgrade", "Upgrade": "websocket", "Sec-WebSocket-Accept": "x"])
        var refusing = machine
        guard case .fail(let failure, _, closing: 7, keepAlive: true) = refusing.upstreamHeadReceived(wrong) else {
            Issue.record("a 101 with the wrong accept value opened a tunnel")
            return
        }
        #expect(failure.text == .appSwitchedProtocols)
        let right = Self.response(.switchingProtocols, headers: [
            "Connection": "upgrade", "Upgrade": "websocket", "Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ])
        guard case .tunnel(_, _, 7) = machine.upstreamHeadReceived(right) else { Issue.record("no tunnel"); return }
        guard case .none = machine.upstreamEndReceived() else { Issue.record("the 101's end must be ignored"); return }
        guard case .none = machine.upstreamClosed(wasReused: false) else { Issue.record("tunnel closes are the tunnel's"); return }
    }

    // MARK: Resolving who is asking (refresh, bearer check)

    @Test func aRefreshInFlightKeepsPartsAndHoldsReadsThenLeasesWithTheNewIdentity() {
        var machine = Machine()
        machine.requestHeadReceived()
        guard case .none = machine.proxy(Self.exchange(), resolveFirst: true) else { Issue.record("leased before the refresh"); return }
        guard case .none = machine.readRequested(upstreamIsWritable: true) else { Issue.record("read not held"); return }
        _ = machine.requestEndReceived()
        #expect(machine.resolvingExchange?.requestComplete == true)
        guard case .lease(let exchange, fresh: false) = machine.resolved({ $0.responseCookies = ["_porteiro=new"] }) else {
            Issue.record("no lease after the refresh")
            return
        }
        #expect(exchange.responseCookies == ["_porteiro=new"])
        guard case .sendRequest(let sent, let parts, on: 7, timer: .some, read: true) = machine.leased(7, isWritable: true) else {
            Issue.record("the held read must go once the upstream can take bytes")
            return
        }
        #expect(sent.responseCookies == ["_porteiro=new"] && parts.count == 1)
    }

    @Test func aRefusedIdentityIsAnsweredLocallyAndAFailedRefreshIs502() {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(), resolveFirst: true)
        _ = machine.requestEndReceived()
        let request = machine.resolvedToAnswer()
        #expect(request?.requestID == "r1")
        guard case .writeAnswer(let answer) = machine.answer(.plain(.unauthorized, ""), to: request!) else {
            Issue.record("the request had ended: answer at once")
            return
        }
        #expect(answer.response.status == .unauthorized)

        var failing = Machine()
        failing.requestHeadReceived()
        _ = failing.proxy(Self.exchange(), resolveFirst: true)
        let failure = ExchangeFailure(status: .badGateway, text: .refreshFailed, reason: "session refresh failed")
        guard case .fail(failure, _, closing: nil, keepAlive: false) = failing.resolutionFailed(failure) else {
            Issue.record("no 502 (and the unfinished request closes the connection)")
            return
        }
    }

    @Test func aResolutionForAClientThatLeftDoesNothing() {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(), resolveFirst: true)
        #expect(machine.clientClosed() == nil)
        guard case .none = machine.resolved({ _ in }) else { Issue.record("leased for a closed client"); return }
        #expect(machine.resolvedToAnswer() == nil)
    }

    // MARK: Backpressure and the connection

    @Test func readsWaitWhileTheUpstreamCannotTakeMore() {
        var machine = Self.proxyingGET()
        guard case .none = machine.readRequested(upstreamIsWritable: false) else { Issue.record("read not held"); return }
        guard case .read = machine.upstreamBecameWritable() else { Issue.record("read not released"); return }
        guard case .none = machine.upstreamBecameWritable() else { Issue.record("one held read, one release"); return }
        guard case .read = machine.readRequested(upstreamIsWritable: true) else { Issue.record("read held for no reason"); return }
    }

    @Test func aReadHeldDuringAnAnswerWaitsForAPipelinedRequestThatStartedMeanwhile() {
        var machine = Machine()
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(), resolveFirst: false)
        _ = machine.readRequested(upstreamIsWritable: true)  // held while leasing
        _ = machine.requestEndReceived()
        _ = machine.leaseFailed(ExchangeFailure(status: .badGateway, text: .appUnreachable, reason: "x"))
        // The error page's `.end` delivered the next request, which is now leasing:
        machine.requestHeadReceived()
        _ = machine.proxy(Self.exchange(), resolveFirst: false)
        guard case .none = machine.answerWritten() else { Issue.record("read released in the middle of a lease"); return }
        guard case .sendRequest(_, _, on: 7, timer: nil, read: true) = machine.leased(7, isWritable: true) else {
            Issue.record("the held read must go with the lease")
            return
        }
    }

    @Test func theIdleTimerClosesOnlyAnIdleConnection() {
        var busy = Self.proxyingGET()
        guard case .none = busy.idleTimerFired() else { Issue.record("closed a busy connection"); return }
        var idle = Machine()
        guard case .close(abandoning: nil) = idle.idleTimerFired() else { Issue.record("idle connection kept"); return }
        #expect(!idle.canAnswerUnreadable)
    }

    @Test func aClientThatLeavesMidExchangeGivesUpItsUpstreamConnection() {
        var machine = Self.proxyingGET()
        #expect(machine.clientClosed() == 7)
        guard case .none = machine.upstreamHeadReceived(Self.response()) else { Issue.record("head after close"); return }
    }

    // MARK: Back-channel logout form

    @Test func aLogoutFormIsCollectedThenSubmittedAndAnOversizedOneRefused() throws {
        let request = Self.request(.POST, headers: ["Host": "gw", "Content-Length": "20"])
        let auth = AuthRequest(method: .POST, headers: request.head.headers, target: try RequestTarget.parse("/").get(), requestID: "r1", now: 0)
        var machine = Machine()
        machine.requestHeadReceived()
        machine.collect(LogoutForm(request: request, auth: auth, authenticator: GroupAuthenticator()))
        _ = machine.requestBodyReceived(ByteBuffer(string: "logout_token=abc"))
        guard case .submitForm(let form) = machine.requestEndReceived() else { Issue.record("form not submitted"); return }
        #expect(String(buffer: form.body) == "logout_token=abc")
        let ready = machine.awaitedAnswerReady()
        #expect(ready, "the machine waits for the verification's answer")

        var large = Machine()
        large.requestHeadReceived()
        large.collect(LogoutForm(request: request, auth: auth, authenticator: GroupAuthenticator()))
        guard case .writeAnswer(let answer) = large.requestBodyReceived(ByteBuffer(repeating: 0x61, count: LogoutForm.maxBytes + 1)) else {
            Issue.record("an oversized form was kept")
            return
        }
        #expect(answer.response.status == .payloadTooLarge && !answer.keepAlive)
    }
}
