import NIOCore
import NIOHTTP1
import PorteiroConfig
@testable import PorteiroProxy
import PorteiroRouting
import Testing

/// The exchange state machine's local answers, identity resolution (refresh, bearer check),
/// backpressure and back-channel logout form — events in, actions out: no sockets, no timers, no
/// sleeps. The proxying paths are in `ExchangeStateMachineProxyingTests`.
@Suite struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine<Int>
    typealias Fixture = ExchangeFixture

    // MARK: Local answers

    @Test func aLocalAnswerWaitsForTheRequestsEnd() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        guard case .none = machine.answer(.plain(.notFound, "no"), to: Fixture.request()) else {
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
        _ = machine.requestHeadReceived()
        let request = Fixture.request(.POST, headers: ["Host": "gw", "Content-Length": "5"])
        guard case .writeAnswer(let answer) = machine.answer(.plain(.forbidden, "no"), to: request) else {
            Issue.record("a body could follow; the answer must not wait for it")
            return
        }
        #expect(!answer.keepAlive)
        guard case .closed = machine.state else { Issue.record("the unread body must not become a request"); return }
        guard case .none = machine.requestBodyReceived(ByteBuffer(string: "hello")) else { Issue.record("body after close"); return }
    }

    @Test func aClosingConnectionReadsNoFurtherRequest() {
        var machine = Machine()
        let first = machine.requestHeadReceived()
        #expect(first)
        _ = machine.answer(.plain(.methodNotAllowed, ""), to: Fixture.request(.POST, headers: ["Host": "gw", "Content-Length": "5"]))
        let next = machine.requestHeadReceived()
        #expect(!next, "a request pipelined behind a closing answer was read")
    }

    @Test func anAsyncAnswerHoldsReadsAndIsWrittenWhenReady() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        let request = Fixture.request()
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
        _ = machine.requestHeadReceived()
        machine.awaitAnswer(for: Fixture.request())
        #expect(machine.clientClosed() == nil)
        let ready = machine.awaitedAnswerReady()
        #expect(!ready, "the answer of a closed connection is dropped")
    }

    @Test func http10AndConnectionCloseAnswersCloseTheConnection() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        _ = machine.requestEndReceived()
        guard case .writeAnswer(let answer) = machine.answer(.plain(.ok, ""), to: Fixture.request(version: .http1_0)) else {
            Issue.record("no answer")
            return
        }
        #expect(!answer.keepAlive)
        guard case .closed = machine.state else { Issue.record("HTTP/1.0 without keep-alive must close"); return }
    }

    // MARK: Resolving who is asking (refresh, bearer check)

    @Test func aRefreshInFlightKeepsPartsAndHoldsReadsThenLeasesWithTheNewIdentity() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        guard case .none = machine.proxy(Fixture.exchange(), resolveFirst: true) else { Issue.record("leased before the refresh"); return }
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
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(), resolveFirst: true)
        _ = machine.requestEndReceived()
        let request = machine.resolvedToAnswer()
        #expect(request?.requestID == "r1")
        guard case .writeAnswer(let answer) = machine.answer(.plain(.unauthorized, ""), to: request!) else {
            Issue.record("the request had ended: answer at once")
            return
        }
        #expect(answer.response.status == .unauthorized)

        var failing = Machine()
        _ = failing.requestHeadReceived()
        _ = failing.proxy(Fixture.exchange(), resolveFirst: true)
        let failure = ExchangeFailure(status: .badGateway, text: .refreshFailed, reason: "session refresh failed")
        guard case .fail(failure, _, closing: nil, keepAlive: false) = failing.resolutionFailed(failure) else {
            Issue.record("no 502 (and the unfinished request closes the connection)")
            return
        }
    }

    @Test func aResolutionForAClientThatLeftDoesNothing() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(), resolveFirst: true)
        #expect(machine.clientClosed() == nil)
        guard case .none = machine.resolved({ _ in }) else { Issue.record("leased for a closed client"); return }
        #expect(machine.resolvedToAnswer() == nil)
    }

    // MARK: Backpressure and the connection

    @Test func readsWaitWhileTheUpstreamCannotTakeMore() {
        var machine = Fixture.proxyingGET()
        guard case .none = machine.readRequested(upstreamIsWritable: false) else { Issue.record("read not held"); return }
        guard case .read = machine.upstreamBecameWritable() else { Issue.record("read not released"); return }
        guard case .none = machine.upstreamBecameWritable() else { Issue.record("one held read, one release"); return }
        guard case .read = machine.readRequested(upstreamIsWritable: true) else { Issue.record("read held for no reason"); return }
    }

    @Test func aReadHeldDuringAnAnswerWaitsForAPipelinedRequestThatStartedMeanwhile() {
        var machine = Machine()
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(), resolveFirst: false)
        _ = machine.readRequested(upstreamIsWritable: true)  // held while leasing
        _ = machine.requestEndReceived()
        _ = machine.leaseFailed(ExchangeFailure(status: .badGateway, text: .appUnreachable, reason: "x"))
        // The error page's `.end` delivered the next request, which is now leasing:
        _ = machine.requestHeadReceived()
        _ = machine.proxy(Fixture.exchange(), resolveFirst: false)
        guard case .none = machine.answerWritten() else { Issue.record("read released in the middle of a lease"); return }
        guard case .sendRequest(_, _, on: 7, timer: nil, read: true) = machine.leased(7, isWritable: true) else {
            Issue.record("the held read must go with the lease")
            return
        }
    }

    @Test func theIdleTimerClosesOnlyAnIdleConnection() {
        var busy = Fixture.proxyingGET()
        guard case .none = busy.idleTimerFired() else { Issue.record("closed a busy connection"); return }
        var idle = Machine()
        guard case .close(abandoning: nil) = idle.idleTimerFired() else { Issue.record("idle connection kept"); return }
        #expect(!idle.canAnswerUnreadable)
    }

    @Test func aClientThatLeavesMidExchangeGivesUpItsUpstreamConnection() {
        var machine = Fixture.proxyingGET()
        #expect(machine.clientClosed() == 7)
        guard case .none = machine.upstreamHeadReceived(Fixture.response()) else { Issue.record("head after close"); return }
    }

    // MARK: Back-channel logout form

    @Test func aLogoutFormIsCollectedThenSubmittedAndAnOversizedOneRefused() throws {
        let request = Fixture.request(.POST, headers: ["Host": "gw", "Content-Length": "20"])
        let auth = AuthRequest(method: .POST, headers: request.head.headers, target: try RequestTarget.parse("/").get(), requestID: "r1", now: 0)
        var machine = Machine()
        _ = machine.requestHeadReceived()
        machine.collect(LogoutForm(request: request, auth: auth, authenticator: GroupAuthenticator()))
        _ = machine.requestBodyReceived(ByteBuffer(string: "logout_token=abc"))
        guard case .submitForm(let form) = machine.requestEndReceived() else { Issue.record("form not submitted"); return }
        #expect(String(buffer: form.body) == "logout_token=abc")
        let ready = machine.awaitedAnswerReady()
        #expect(ready, "the machine waits for the verification's answer")

        var large = Machine()
        _ = large.requestHeadReceived()
        large.collect(LogoutForm(request: request, auth: auth, authenticator: GroupAuthenticator()))
        guard case .writeAnswer(let answer) = large.requestBodyReceived(ByteBuffer(repeating: 0x61, count: LogoutForm.maxBytes + 1)) else {
            Issue.record("an oversized form was kept")
            return
        }
        #expect(answer.response.status == .payloadTooLarge && !answer.keepAlive)
    }
}
