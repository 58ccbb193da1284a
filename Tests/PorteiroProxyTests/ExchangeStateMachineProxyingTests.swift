import NIOCore
import NIOHTTP1
import PorteiroConfig
@testable import PorteiroProxy
import PorteiroRouting
import Testing

/// The proxying paths of the exchange state machine: leasing, streaming, responses, retries,
/// failures, timeouts and WebSocket — events in, actions out, no sockets or sleeps.
@Suite struct ExchangeStateMachineProxyingTests {
    typealias Machine = ExchangeStateMachine<Int>
    typealias Fixture = ExchangeFixture

    // MARK: Proxying

    @Test func partsThatArriveWhileLeasingAreSentInOrderWithTheHead() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        let request = Fixture.request(.POST, headers: ["Host": "gw", "Content-Length": "4"])
        guard case .lease(_, fresh: false) = machine.proxy(Fixture.exchange(request), resolveFirst: false) else {
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
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(Fixture.request(.POST, headers: ["Host": "gw", "Transfer-Encoding": "chunked"])), resolveFirst: false)
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
        var machine = Fixture.proxyingGET()
        guard case .writeResponseHead(let head, _) = machine.upstreamHeadReceived(Fixture.response()) else {
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
        _ = machine.requestHeadReceived()
        guard case .lease = machine.proxy(Fixture.exchange(), resolveFirst: false) else { Issue.record("the next request did not start"); return }
        #expect(machine.resolvingExchange == nil)
    }

    @Test func aResponseThatEndsBeforeTheRequestClosesBothSides() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(Fixture.request(.POST, headers: ["Host": "gw", "Content-Length": "9"])), resolveFirst: false)
        _ = machine.leased(7, isWritable: true)
        _ = machine.upstreamHeadReceived(Fixture.response(.payloadTooLarge))
        guard case .finishResponse(_, release: 7, reusable: false, keepAlive: false) = machine.upstreamEndReceived() else {
            Issue.record("an unfinished request body leaves neither connection reusable")
            return
        }
        guard case .closed = machine.state else { Issue.record("not closed"); return }
    }

    @Test func anUpstreamConnectionCloseIsNotReused() {
        var machine = Fixture.proxyingGET()
        _ = machine.upstreamHeadReceived(Fixture.response(headers: ["Connection": "close"]))
        guard case .finishResponse(_, release: 7, reusable: false, keepAlive: true) = machine.upstreamEndReceived() else {
            Issue.record("the app said close: the connection must not be pooled")
            return
        }
    }

    // MARK: Retries, failures, timeouts

    @Test func anIdempotentRequestIsRetriedOnceOnAFreshConnection() {
        var machine = Fixture.proxyingGET()
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
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(Fixture.request(method, headers: allHeaders)), resolveFirst: false)
        _ = machine.leased(7, isWritable: true)
        guard case .fail(let failure, _, closing: nil, keepAlive: false) = machine.upstreamClosed(wasReused: reused) else {
            Issue.record("retried \(method) (reused: \(reused))")
            return
        }
        #expect(failure.status == .badGateway)
    }

    @Test func aCloseAfterTheResponseStartedCutsTheClientShort() {
        var machine = Fixture.proxyingGET()
        _ = machine.upstreamHeadReceived(Fixture.response())
        guard case .cutShort = machine.upstreamClosed(wasReused: true) else { Issue.record("not cut short"); return }
        guard case .closed = machine.state else { Issue.record("not closed"); return }
    }

    @Test func aSilentUpstreamIs504AndItsConnectionClosed() {
        var machine = Fixture.proxyingGET()
        guard case .none = machine.responseTimedOut(exchange: 9) else { Issue.record("another exchange's timer"); return }
        guard case .fail(let failure, _, closing: 7, keepAlive: true) = machine.responseTimedOut(exchange: 1) else {
            Issue.record("no 504")
            return
        }
        #expect(failure.status == .gatewayTimeout && failure.reason.contains("routes[0].timeout"))
        var answered = Fixture.proxyingGET()
        _ = answered.upstreamHeadReceived(Fixture.response())
        guard case .none = answered.responseTimedOut(exchange: 1) else { Issue.record("a response had started"); return }
    }

    @Test func aLeaseThatFailsIsAnErrorPageAndOneThatComesTooLateIsReleased() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(), resolveFirst: false)
        _ = machine.requestEndReceived()
        let refused = ExchangeFailure(status: .badGateway, text: .appUnreachable, reason: "refused")
        guard case .fail(refused, _, closing: nil, keepAlive: true) = machine.leaseFailed(refused) else {
            Issue.record("no 502")
            return
        }
        guard case .releaseUnused(7) = machine.leased(7, isWritable: true) else { Issue.record("a late lease must go back"); return }
    }

    @Test func upstreamStatusesNoClientCanReadAre502() {
        var machine = Fixture.proxyingGET()
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
        let request = Fixture.request(headers: [
            "Host": "gw", "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key,
        ])
        let upgrade = try #require(WebSocketUpgrade(request.head))
        var machine = Machine()
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(request, upgrade: upgrade), resolveFirst: false)
        _ = machine.requestEndReceived()
        _ = machine.leased(7, isWritable: true)
        let wrong = Fixture.response(.switchingProtocols, headers: ["Connection": "upgrade", "Upgrade": "websocket", "Sec-WebSocket-Accept": "x"])
        var refusing = machine
        guard case .fail(let failure, _, closing: 7, keepAlive: true) = refusing.upstreamHeadReceived(wrong) else {
            Issue.record("a 101 with the wrong accept value opened a tunnel")
            return
        }
        #expect(failure.text == .appSwitchedProtocols)
        let right = Fixture.response(.switchingProtocols, headers: [
            "Connection": "upgrade", "Upgrade": "websocket", "Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ])
        guard case .tunnel(_, _, 7) = machine.upstreamHeadReceived(right) else { Issue.record("no tunnel"); return }
        guard case .none = machine.upstreamEndReceived() else { Issue.record("the 101's end must be ignored"); return }
        guard case .none = machine.upstreamClosed(wasReused: false) else { Issue.record("tunnel closes are the tunnel's"); return }
    }
}
