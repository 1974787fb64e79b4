import Foundation
import Testing

/// CI only checks that the benchmark command still runs (tiny sizes, this run's binaries); the
/// measurement itself is `make bench`, never a timed test.
@Suite struct BenchmarkSmokeTests {
    @Test func benchmarkCommandRunsOnTinySizes() throws {
        let repository = ToolRunner.repository
        let output = try TemporaryDirectory("miis-bench-smoke")
        let report = output.file("BENCHMARKS.md")
        let result = try ToolRunner.run("/usr/bin/python3", [repository.appendingPathComponent("scripts/bench.py").path,
                                                             "--tiny", "--runs", "2", "--products", ToolRunner.productsDirectory.path,
                                                             "--baseline", ToolRunner.productsDirectory.path,
                                                             "--output", report], timeout: 600)
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: report, encoding: .utf8)
        for row in ["1a. verify scrypt", "1b. verify PBKDF2", "2. verify --recursive", "3. verify", "4. miisactivate", "5. inspect", "## Scaling", "## Memory"] {
            #expect(text.contains(row), "BENCHMARKS.md lacks \(row)")
        }
        // Issue 12's targets table: each pair with a today column measured from --baseline.
        for row in ["## Targets of issue 12", "`keytool inspect` vs `openssl asn1parse`", "`keytool --version` vs `openssl version`",
                    "verify peak RSS vs `openssl kdf`", "default -j", "with `-j 1`", "cost per key",
                    "stripped size: `keytool`", "stripped size: all three tools together"] {
            #expect(text.contains(row), "BENCHMARKS.md lacks \(row)")
        }
        #expect(!text.contains("not measured: no `--baseline"), "the today column was not measured")
        // A shell pipe inside a row name must not split the Markdown table's columns.
        #expect(!text.contains("find | xargs"))
    }
}
