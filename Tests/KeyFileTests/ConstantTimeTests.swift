import Testing
@testable import KeyFile

@Suite struct ConstantTimeTests {
    @Test func equalAndUnequal() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([0x80, 2, 3], [0, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([], [0]))
        #expect(ConstantTime.equals([], []))
    }

    @Test func everySingleBitDifferenceIsSeen() {
        let a = [UInt8](0..<64)
        for bit in 0..<(a.count * 8) {
            var b = a
            b[bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(!ConstantTime.equals(a, b))
        }
    }

    @Test func rawBuffersIncludingSlices() {
        let a: [UInt8] = [9, 1, 2, 3, 9]
        let b: [UInt8] = [1, 2, 3]
        let equal = a[1..<4].withUnsafeBytes { x in b.withUnsafeBytes { y in ConstantTime.equals(x, y) } }
        #expect(equal)
    }
}
