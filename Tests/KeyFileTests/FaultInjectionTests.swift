#if DEBUG  // fault points exist only in debug builds
@testable import KeyFile
import Testing

/// `MIIS_FAULT_POINT` parsing. The points themselves are exercised end to end (the crash-safety
/// and setup-failure tests arm them in the tools they run).
@Suite("Fault injection")
struct FaultInjectionTests {
    typealias Arming = FaultInjection.Arming

    @Test func killIsTheDefaultAction() {
        #expect(Arming("sqlite.after-commit") == Arming(name: "sqlite.after-commit", hit: 1, action: .kill))
        #expect(Arming("sqlite.after-commit@3") == Arming(name: "sqlite.after-commit", hit: 3, action: .kill))
    }

    @Test func errorSuffixThrowsInstead() {
        #expect(Arming("setup.after-register:error") == Arming(name: "setup.after-register", hit: 1, action: .throwError))
        #expect(Arming("postgres.after-commit@2:error") == Arming(name: "postgres.after-commit", hit: 2, action: .throwError))
    }

    @Test func stopSuffixStopsTheProcessInstead() {
        #expect(Arming("postgres.before-commit:stop") == Arming(name: "postgres.before-commit", hit: 1, action: .stop))
        #expect(Arming("activate.after-commit@2:stop") == Arming(name: "activate.after-commit", hit: 2, action: .stop))
        // One action per arming: a second suffix is part of a (non-existent) name, never a second action.
        #expect(Arming("a:error:stop") == Arming(name: "a:error", hit: 1, action: .stop))
    }

    @Test func pauseSuffixSleepsTheThreadInstead() {
        #expect(Arming("postgres.before-commit:pause=7") == Arming(name: "postgres.before-commit", hit: 1, action: .pause(seconds: 7)))
        #expect(Arming("a@3:pause=0.5") == Arming(name: "a", hit: 3, action: .pause(seconds: 0.5)))
    }

    @Test func malformedValuesArmNothing() {
        for value in ["", "@2", ":error", ":stop", "name@0", "name@-1", "name@x", "name@2x:error", "name@2x:stop", "@1:error", "@1:stop",
                      "a:pause=", "a:pause=x", "a:pause=-1", "a:pause=601", "a:pause=nan", "a:pause=inf", ":pause=1", "a@0:pause=1"] {
            #expect(Arming(value) == nil, "\(value)")
        }
    }

    @Test func aListArmsSeveralPoints() {
        #expect(FaultInjection.parse("a:error,b@2") == [Arming(name: "a", hit: 1, action: .throwError), Arming(name: "b", hit: 2, action: .kill)])
        #expect(FaultInjection.parse("a") == [Arming(name: "a", hit: 1, action: .kill)])
        #expect(FaultInjection.parse("a:stop,b@2:error") == [Arming(name: "a", hit: 1, action: .stop), Arming(name: "b", hit: 2, action: .throwError)])
        #expect(FaultInjection.parse("a,,b") == nil)
        #expect(FaultInjection.parse("a,b@0") == nil)
    }

    @Test func theInjectedErrorIsAnIOError() {
        let error = FaultInjection.injectedError("setup.after-register")
        #expect(error.category == .io)
        #expect(error.message == "fault point setup.after-register: injected failure: Input/output error")
    }
}
#endif
