@testable import Deployment
import ErrorReporting
import Foundation
import KeyFile
import Testing

/// The backup chooser's ordering and its "best candidate" rule, without a deployment.
@Suite struct BackupChoiceRulesTests {
    func candidate(_ path: String, _ createdAt: Int64?, _ verdict: BackupCandidate.Verdict, _ error: (any ReportableError)? = nil) -> BackupCandidate {
        BackupCandidate(path: path, createdAt: createdAt, keySetID: nil, verdict: verdict, reason: "",
                        failureBox: error.map { .init(error: $0) }, header: nil)
    }

    @Test func newestIsByCreationTimeThenByNumberedName() {
        #expect(BackupChoice.isLaterName("/b/miiskeys-10.bin", than: "/b/miiskeys-9.bin"))
        #expect(!BackupChoice.isLaterName("/b/miiskeys-9.bin", than: "/b/miiskeys-10.bin"))
        #expect(BackupChoice.isLaterName("/b/z.bin", than: "/b/a.bin"))
        let sorted = [candidate("/b/miiskeys-10.bin", 100, .chosen), candidate("/b/miiskeys-9.bin", 200, .chosen),
                      candidate("/b/broken.bin", nil, .damaged), candidate("/b/miiskeys-11.bin", 100, .chosen)]
            .sorted(by: BackupCandidate.isNewer).map(\.path)
        #expect(sorted == ["/b/miiskeys-9.bin", "/b/miiskeys-11.bin", "/b/miiskeys-10.bin", "/b/broken.bin"])
    }

    @Test func bestFailureIsTheCandidateThatGotFurthest() {
        let damaged = KeyFileError(.corrupted, code: "checksum", "damaged")
        let wrong = KeyFileError(.wrongCredentials, code: "header-mac", "wrong password")
        let stale = DeploymentError(.keySetMismatch, "stale")
        let choice = BackupChoice(directory: "/b", candidates: [
            candidate("/b/new.bin", 300, .damaged, damaged), candidate("/b/other.bin", 200, .staleKeySet, stale),
            candidate("/b/old.bin", 100, .wrongCredentials, wrong),
        ])
        #expect(choice.bestFailure?.errorClass == "wrongCredentials")
        #expect(choice.bestFailure?.message.contains("best candidate: /b/old.bin") == true)
        let noCredentials = BackupChoice(directory: "/b", candidates: [
            candidate("/b/new.bin", 300, .damaged, damaged), candidate("/b/other.bin", 200, .staleKeySet, stale)])
        #expect(noCredentials.bestFailure?.errorClass == "keySetMismatch")
        #expect(BackupChoice(directory: "/b", candidates: []).bestFailure?.errorClass == "io")
        let chosen = BackupChoice(directory: "/b", candidates: [candidate("/b/a.bin", 1, .chosen)])
        #expect(chosen.bestFailure == nil)
    }
}
