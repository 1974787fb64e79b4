import Foundation
import Testing
@testable import KeyFile
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SecureFileTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "keyfile-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    @Test func readsARegularFile() throws {
        defer { cleanUp() }
        let path = directory + "/file"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(try SecureFile.read(path) == [1, 2, 3])
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(try SecureFile.read(path) == [])
    }

    @Test func refusesADirectory() {
        defer { cleanUp() }
        #expect(keyFileError { try SecureFile.read(directory) }?.code.rawValue == "io.not-regular")
    }

    @Test(.timeLimit(.minutes(1)))
    func refusesAFIFOWithoutBlocking() throws {
        defer { cleanUp() }
        let path = directory + "/fifo"
        #expect(mkfifo(path, 0o600) == 0)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(keyFileError { try SecureFile.read(path) }?.code.rawValue == "io.not-regular")
        #expect(clock.now - start < .seconds(5))
    }

    @Test func refusesDevZeroThroughASymlink() throws {
        defer { cleanUp() }
        let path = directory + "/zero"
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/zero")
        #expect(keyFileError { try SecureFile.read(path) }?.code.rawValue == "io.not-regular")
    }

    @Test func refusesAFileOverTheLimit() throws {
        defer { cleanUp() }
        let path = directory + "/big"
        try Data(repeating: 7, count: 11).write(to: URL(fileURLWithPath: path))
        #expect(keyFileError { try SecureFile.read(path, limit: 10) }?.code.rawValue == "corrupted.size")
        #expect(try SecureFile.read(path, limit: 11).count == 11)
    }

    @Test func missingFile() {
        defer { cleanUp() }
        #expect(keyFileError { try SecureFile.read(directory + "/absent") }?.code.rawValue == "io.not-found")
    }

    @Test func writeAtomicallyCreates0600AndLeavesNoTemporary() throws {
        defer { cleanUp() }
        let path = directory + "/keys.bin"
        let oldMask = umask(0)  // even with a permissive umask the file is 0600
        defer { umask(oldMask) }
        try SecureFile.writeAtomically([9, 8, 7], to: path, replace: false)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o7777 == 0o600)
        #expect((status.st_mode & S_IFMT) == S_IFREG)
        #expect(try SecureFile.read(path) == [9, 8, 7])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["keys.bin"])
    }

    @Test func refusesOverwriteWithoutReplace() throws {
        defer { cleanUp() }
        let path = directory + "/keys.bin"
        try SecureFile.writeAtomically([1], to: path, replace: false)
        #expect(keyFileError { try SecureFile.writeAtomically([2], to: path, replace: false) }?.code.rawValue == "io.exists")
        #expect(try SecureFile.read(path) == [1])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["keys.bin"])
        try SecureFile.writeAtomically([3, 4], to: path, replace: true)
        #expect(try SecureFile.read(path) == [3, 4])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["keys.bin"])
    }

    @Test func writeIntoAMissingDirectoryFailsCleanly() {
        defer { cleanUp() }
        let error = keyFileError { try SecureFile.writeAtomically([1], to: directory + "/no/such/keys.bin", replace: true) }
        #expect(error?.category == .io)
    }

    @Test func keyFileThroughTheFileSystem() throws {
        defer { cleanUp() }
        let bytes = try TestVectorTests.load("scrypt-weak.bin")
        let path = directory + "/keys.bin"
        try SecureFile.writeAtomically(bytes, to: path, replace: false)
        #expect(try SecureFile.read(path) == bytes)
    }

    /// Written relative to an opened directory, the file lands in that directory even when its
    /// path is meanwhile replaced by a symbolic link; reading by name refuses a symbolic link.
    @Test func writeIntoAnOpenedDirectoryIgnoresASwappedPath() throws {
        defer { cleanUp() }
        let keys = directory + "/keys"
        let decoy = directory + "/decoy"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: decoy, withIntermediateDirectories: false)
        let descriptor = open(keys, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        try FileManager.default.moveItem(atPath: keys, toPath: directory + "/moved")
        try FileManager.default.createSymbolicLink(atPath: keys, withDestinationPath: decoy)
        try SecureFile.writeAtomically([5, 6], named: "keyset.bin", in: descriptor, path: keys + "/keyset.bin", replace: false)
        #expect(try FileManager.default.contentsOfDirectory(atPath: decoy).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/moved") == ["keyset.bin"])
        #expect(try SecureFile.read(named: "keyset.bin", in: descriptor, path: "keyset.bin") == [5, 6])
        #expect(keyFileError { try SecureFile.writeAtomically([7], named: "keyset.bin", in: descriptor, path: "k", replace: false) }?.code.rawValue == "io.exists")
        #expect(keyFileError { try SecureFile.writeAtomically([7], named: "../escape", in: descriptor, path: "k", replace: true) }?.code.rawValue == "io.invalid-name")

        #expect(symlink(decoy + "/x", directory + "/moved/link") == 0)
        try Data([1]).write(to: URL(fileURLWithPath: decoy + "/x"))
        #expect(keyFileError { _ = try SecureFile.read(named: "link", in: descriptor, path: "link") }?.code.rawValue == "io.symlink")
    }

    /// A verification that fails (here the caller's check) commits nothing: the old file stays, no
    /// temporary file is left, and the check saw exactly the bytes written.
    @Test func aFailedVerificationLeavesTheOldFileAndNoTemporary() throws {
        defer { cleanUp() }
        let path = directory + "/keys.bin"
        try SecureFile.writeAtomically([1, 2], to: path, replace: false)
        struct Refused: Error {}
        var seen: [UInt8] = []
        #expect(throws: Refused.self) {
            try SecureFile.writeAtomically([3, 4, 5], to: path, replace: true) { written in
                seen = written
                throw Refused()
            }
        }
        #expect(seen == [3, 4, 5])
        #expect(try SecureFile.read(path) == [1, 2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["keys.bin"])
        try SecureFile.writeAtomically([3, 4, 5], to: path, replace: true) { #expect($0 == [3, 4, 5]) }
        #expect(try SecureFile.read(path) == [3, 4, 5])
    }

    /// The temporary-file name is made and recognized in one place, and the two agree.
    @Test func temporaryNamesAreRecognized() throws {
        for name in ["keyset.bin", "miiskeys-3.bin", ".hidden", "a"] {
            let temporary = try SecureFile.temporaryName(for: name)
            #expect(temporary.hasPrefix(".\(name).tmp-"))
            #expect(SecureFile.isTemporaryName(temporary), "\(temporary)")
        }
        for name in ["keyset.bin", ".tmp-0a1b", "..tmp-12", ".x.tmp-", ".x.tmp-xyz", "x.tmp-0a", ".x.tmp-0A1B", ".x.tmp-０１"] {
            #expect(!SecureFile.isTemporaryName(name), "\(name)")
        }
    }

    /// A write killed before its rename leaves its temporary file (a power cut, SIGKILL: found by
    /// the partition tests' killed activations). The next successful write of the same name
    /// removes such leftovers once they are older than any write in progress can be; a fresh one
    /// (another writer's, in flight), other names' and names that are not exactly a temporary's stay.
    @Test func aSuccessfulWriteRemovesTheStaleTemporariesOfItsName() throws {
        defer { cleanUp() }
        let path = directory + "/keyset.bin"
        let stale = directory + "/.keyset.bin.tmp-0123456789ab"
        let fresh = directory + "/.keyset.bin.tmp-abcdefabcdef"
        let kept = ["/.other.bin.tmp-0123456789ab", "/.keyset.bin.tmp-notours", "/.keyset.bin.tmp-0123456789a",
                    "/.keyset.bin.tmp-0123456789abc", "/.keyset.bin.tmp-0123456789AB"].map { directory + $0 }
        for file in [stale, fresh] + kept { try Data([9, 9]).write(to: URL(fileURLWithPath: file)) }
        let anHourAgo = Date().addingTimeInterval(-3600)
        for file in [stale] + kept {
            try FileManager.default.setAttributes([.modificationDate: anHourAgo], ofItemAtPath: file)
        }
        try SecureFile.writeAtomically([1, 2, 3], to: path, replace: true)
        #expect(!FileManager.default.fileExists(atPath: stale))
        for file in [fresh] + kept { #expect(FileManager.default.fileExists(atPath: file), "\(file)") }
        #expect(try SecureFile.read(path) == [1, 2, 3])
    }

    /// Only regular files are swept: a symbolic link with a temporary's name is left alone.
    @Test func theSweepLeavesSymbolicLinksAlone() throws {
        defer { cleanUp() }
        let link = directory + "/.keyset.bin.tmp-0123456789ac"
        #expect(symlink("/etc/hostname", link) == 0)
        var times = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, link, &times, AT_SYMLINK_NOFOLLOW) == 0)
        try SecureFile.writeAtomically([1], to: directory + "/keyset.bin", replace: true)
        var status = stat()
        #expect(lstat(link, &status) == 0)
    }
}
