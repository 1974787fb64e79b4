import Foundation
import Testing
@testable import KeyFile

@Suite struct KeyFileReportsTests {
    @Test func timesAreISO8601UTC() {
        #expect(KeyFileTime.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(KeyFileTime.iso8601(1_800_000_000) == "2027-01-15T08:00:00Z")
    }

    @Test func kdfReportStandsAgainstFloorCeilingAndRecommendation() {
        let recommended = KDFReport(.recommended)
        #expect(recommended.meetsRecommendation && !recommended.belowFloor && !recommended.outOfBounds)
        #expect(recommended.memoryBytes == 128 << 20 && recommended.n == 131_072)
        #expect(KDFReport(.scrypt(logN: 10, r: 8, p: 1)).belowFloor)
        #expect(KDFReport(.scrypt(logN: 30, r: 8, p: 1)).outOfBounds)
        #expect(!KDFReport(.pbkdf2SHA256(iterations: 400_000)).meetsRecommendation)
        #expect(KDFReport(.recommendedPBKDF2).meetsRecommendation)
    }
}
