import NIOCore
@testable import PorteiroProxy
import Testing

@Suite struct DeadlineTimerTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func movingTheDeadlineLaterSchedulesNothingUntilTheTaskRuns() {
        var timer = DeadlineTimer()
        #expect(timer.set(t0 + .seconds(60)) == t0 + .seconds(60), "the first deadline needs a task")
        #expect(timer.set(t0 + .seconds(61)) == nil, "later: the task scheduled for 60 s will do")
        #expect(timer.set(t0 + .seconds(90)) == nil)
        #expect(timer.taskRan(scheduledFor: t0 + .seconds(60), now: t0 + .seconds(60)) == .reschedule(t0 + .seconds(90)))
        #expect(timer.taskRan(scheduledFor: t0 + .seconds(90), now: t0 + .seconds(90)) == .expired)
        #expect(timer.deadline == nil && timer.scheduledFor == nil)
    }

    @Test func anEarlierDeadlineNeedsANewTaskAndTheOldOneDoesNothing() {
        var timer = DeadlineTimer()
        _ = timer.set(t0 + .seconds(60))
        #expect(timer.set(t0 + .seconds(30)) == t0 + .seconds(30))
        #expect(timer.taskRan(scheduledFor: t0 + .seconds(60), now: t0 + .seconds(60)) == .nothing, "replaced")
        #expect(timer.taskRan(scheduledFor: t0 + .seconds(30), now: t0 + .seconds(30)) == .expired)
    }

    @Test func aClearedDeadlineNeverExpires() {
        var timer = DeadlineTimer()
        _ = timer.set(t0 + .seconds(60))
        #expect(timer.set(nil) == nil)
        #expect(timer.taskRan(scheduledFor: t0 + .seconds(60), now: t0 + .seconds(60)) == .nothing)
        #expect(timer.set(t0 + .seconds(120)) == t0 + .seconds(120), "no task is left: a new one is needed")
    }

    @Test func aTaskThatRunsEarlyReschedulesForTheSameDeadline() {
        var timer = DeadlineTimer()
        _ = timer.set(t0 + .seconds(60))
        #expect(timer.taskRan(scheduledFor: t0 + .seconds(60), now: t0 + .seconds(59)) == .reschedule(t0 + .seconds(60)))
    }
}
