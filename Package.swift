// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "miis-keyfile-toolkit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "KeyFile", targets: ["KeyFile"]),
        .library(name: "Deployment", targets: ["Deployment"]),
        .executable(name: "keytool", targets: ["keytool"]),
        .executable(name: "miisserver", targets: ["miisserver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // The error protocol every library's error type adopts and the tools report through.
        .target(name: "ErrorReporting"),
        .target(
            name: "KeyFile",
            dependencies: ["COpenSSL", "ErrorReporting", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "Deployment",
            dependencies: [
                "KeyFile", "ErrorReporting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .target(
            name: "ToolSupport",
            dependencies: [
                "KeyFile", "ErrorReporting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // What the two deployment tools (miisactivate, miisserver) share: the command-line texts of
        // the deployment's remedies. keytool does not link it.
        .target(
            name: "DeploymentCommandLine",
            dependencies: ["Deployment", "ToolSupport"]
        ),
        .executableTarget(
            name: "keytool",
            dependencies: [
                "KeyFile", "ToolSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // miisactivate: the reference's command line and the activation program. It runs inside the
        // miisserver binary (one multi-call executable, installed under both names): the two
        // share the whole deployment stack, which is most of their size.
        .target(
            name: "MiisactivateCommand",
            dependencies: ["KeyFile", "Deployment", "ToolSupport", "DeploymentCommandLine"],
            path: "Sources/miisactivate"
        ),
        .executableTarget(
            name: "miisserver",
            dependencies: [
                "KeyFile", "Deployment", "ToolSupport", "DeploymentCommandLine", "MiisactivateCommand",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "KeyFileTests",
            // ToolSupport: the published vectors name the exit status each failure class maps to.
            dependencies: ["KeyFile", "ToolSupport"],
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "DeploymentTests",
            dependencies: ["Deployment", "KeyFile", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "ToolSupportTests",
            dependencies: ["ToolSupport", "KeyFile", "Deployment"]
        ),
        .testTarget(
            name: "KeytoolTests",
            dependencies: ["keytool", "KeyFile", "ToolSupport"]
        ),
        .testTarget(
            name: "MiisactivateTests",
            dependencies: ["MiisactivateCommand"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["KeyFile", "Deployment"],
            exclude: ["Support/pty_dialog.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
