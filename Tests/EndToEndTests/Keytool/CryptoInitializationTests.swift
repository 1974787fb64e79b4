import Foundation
import Testing

/// Commands that only hash start libcrypto without reading the system configuration (issue 12:
/// start-up); every command that derives keys or decrypts keeps the system configuration (crypto
/// policy, FIPS). Observed with `strace`: whether the process opens openssl.cnf.
@Suite struct CryptoInitializationTests {
    static func opensConfiguration(_ arguments: [String]) throws -> (status: Int32, opened: Bool) {
        let result = try ToolRunner.run("/usr/bin/strace", ["-f", "-e", "trace=openat", "-o", "/dev/stderr", ToolRunner.path(of: "keytool")] + arguments)
        return (result.status, result.stderr.contains("openssl.cnf"))
    }

    @Test func hashOnlyCommandsSkipTheConfigurationAndKeyCommandsKeepIt() throws {
        let directory = try TemporaryDirectory("crypto-init")
        let passwordFile = directory.file("pw")
        try "Crypto-Init-Passw0rd\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let file = directory.file("k.key")
        let credentials = ["--account", "CORP\\svc", "--password-file", passwordFile, "--allow-weak-kdf"]
        let create = try Self.opensConfiguration(["create", "-o", file, "--scrypt-log-n", "10"] + credentials)
        #expect(create == (0, true))
        for hashing in [["inspect", file], ["verify", file, "--allow-weak-kdf"], ["audit", file], ["diff", file, file]] {
            let run = try Self.opensConfiguration(hashing)
            #expect(run.status == 0 || hashing[0] == "audit", "\(hashing)")
            #expect(!run.opened, "\(hashing[0]) read the OpenSSL configuration")
        }
        for keyed in [["list", file] + credentials, ["verify", file] + credentials] {
            #expect(try Self.opensConfiguration(keyed) == (0, true), "\(keyed[0])")
        }
    }
}
