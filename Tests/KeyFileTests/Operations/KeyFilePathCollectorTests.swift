import Foundation
import Testing
@testable import KeyFile

@Suite struct KeyFilePathCollectorTests {
    @Test func directoriesExpandSortedAndRecursionIsOptIn() throws {
        let directory = try OperationsTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("sub"), withIntermediateDirectories: true)
        for name in ["b.key", "a.key", "sub/c.key"] { try OperationsFixture.write([1], to: directory.file(name)) }

        let flat = KeyFilePathCollector.collect([directory.path], recursive: false).map(\.path)
        #expect(flat == [directory.file("a.key"), directory.file("b.key")])
        let deep = KeyFilePathCollector.collect([directory.path + "/"], recursive: true).map(\.path)
        #expect(deep == [directory.file("a.key"), directory.file("b.key"), directory.file("sub/c.key")])
    }

    @Test func missingFilesAndDanglingLinksAreKeptSoTheyAreReported() throws {
        let directory = try OperationsTemporaryDirectory()
        symlink(directory.file("nowhere"), directory.file("dangling.key"))
        let collected = KeyFilePathCollector.collect([directory.path, directory.file("missing.key")], recursive: true)
        #expect(collected.map(\.path) == [directory.file("dangling.key"), directory.file("missing.key")])
        #expect(collected.allSatisfy { $0.problem == nil })
    }

    @Test func linksToDirectoriesAreNotFollowedAndDuplicatesCollapse() throws {
        let directory = try OperationsTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("real"), withIntermediateDirectories: true)
        try OperationsFixture.write([1], to: directory.file("real/x.key"))
        symlink(directory.path, directory.file("real/loop"))
        let collected = KeyFilePathCollector.collect([directory.path, directory.file("real/x.key")], recursive: true)
        #expect(collected.map(\.path) == [directory.file("real/x.key")])
    }
}
