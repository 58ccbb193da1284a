import NIOCore
import PorteiroProxy
import Testing

@Suite struct UpstreamPoolStateMachineTests {
    typealias Machine = UpstreamPoolStateMachine<Int>
    let limits = Machine.Limits(idleTimeout: .seconds(30), maxLifetime: .seconds(600), maxIdle: 2)
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func connectsWhenEmptyAndReusesTheMostRecentlyParked() {
        var machine = Machine(limits: limits)
        let result1 = machine.lease(now: t0)
        #expect(result1 == .connect(closing: []))
        let result2 = machine.release(1, createdAt: t0, reusable: true, now: t0)
        #expect(result2 == .park(until: t0 + .seconds(30)))
        let result3 = machine.release(2, createdAt: t0, reusable: true, now: t0 + .seconds(1))
        #expect(result3 == .park(until: t0 + .seconds(31)))
        let result4 = machine.lease(now: t0 + .seconds(2))
        #expect(result4 == .reuse(2, closing: []))
        let result5 = machine.lease(now: t0 + .seconds(2))
        #expect(result5 == .reuse(1, closing: []))
        let result6 = machine.lease(now: t0 + .seconds(2))
        #expect(result6 == .connect(closing: []))
    }

    @Test func closesWhatCannotBeReused() {
        var machine = Machine(limits: limits)
        let result7 = machine.release(1, createdAt: t0, reusable: false, now: t0)
        #expect(result7 == .close, "Connection: close or unfinished body")
        let result8 = machine.release(2, createdAt: t0, reusable: true, now: t0 + .seconds(600))
        #expect(result8 == .close, "past max lifetime")
        _ = machine.release(3, createdAt: t0, reusable: true, now: t0)
        _ = machine.release(4, createdAt: t0, reusable: true, now: t0)
        let result9 = machine.release(5, createdAt: t0, reusable: true, now: t0)
        #expect(result9 == .close, "over the idle cap")
        #expect(machine.idleCount == 2)
    }

    @Test func parksNoLongerThanTheLifetimeAllows() {
        var machine = Machine(limits: limits)
        let created = t0 - .seconds(590)
        let result10 = machine.release(1, createdAt: created, reusable: true, now: t0)
        #expect(result10 == .park(until: created + .seconds(600)))
    }

    @Test func dropsExpiredConnectionsWhenLeasing() {
        var machine = Machine(limits: limits)
        _ = machine.release(1, createdAt: t0, reusable: true, now: t0)
        _ = machine.release(2, createdAt: t0, reusable: true, now: t0 + .seconds(20))
        let result11 = machine.lease(now: t0 + .seconds(31))
        #expect(result11 == .reuse(2, closing: []))
        let result12 = machine.lease(now: t0 + .seconds(31))
        #expect(result12 == .connect(closing: [1]))
    }

    @Test func idleTimerClosesOnlyWhatIsStillIdleAndExpired() {
        var machine = Machine(limits: limits)
        _ = machine.release(1, createdAt: t0, reusable: true, now: t0)
        let result13 = machine.idleTimerFired(1, now: t0 + .seconds(29))
        #expect(!result13)
        let result14 = machine.idleTimerFired(1, now: t0 + .seconds(30))
        #expect(result14)
        #expect(machine.idleCount == 0)
        let result15 = machine.idleTimerFired(1, now: t0 + .seconds(31))
        #expect(!result15, "already gone")
    }

    @Test func forgetsConnectionsThatClosedAndStopsPoolingAtShutdown() {
        var machine = Machine(limits: limits)
        _ = machine.release(1, createdAt: t0, reusable: true, now: t0)
        _ = machine.release(2, createdAt: t0, reusable: true, now: t0)
        machine.closed(2)
        let result16 = machine.shutdown()
        #expect(result16 == [1])
        let result17 = machine.release(3, createdAt: t0, reusable: true, now: t0)
        #expect(result17 == .close)
        let result18 = machine.lease(now: t0)
        #expect(result18 == .connect(closing: []))
    }

    @Test func zeroIdleMeansNoPooling() {
        var machine = Machine(limits: .init(idleTimeout: .seconds(30), maxLifetime: .seconds(600), maxIdle: 0))
        let result19 = machine.release(1, createdAt: t0, reusable: true, now: t0)
        #expect(result19 == .close)
    }
}
