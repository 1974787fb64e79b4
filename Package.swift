// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "miis-keyfile-toolkit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "KeyFile", targets: ["KeyFile"]),
        .library(name: "Deployment", targets: ["Deployment"]),
        .executable(name: "keytool", targets: ["keytool"]),
        .executable(name: "miisactivate", targets: ["miisactivate"]),
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
        .target(
            name: "KeyFile",
            dependencies: ["COpenSSL", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "Deployment",
            dependencies: [
                "KeyFile",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .target(
            name: "ToolSupport",
            dependencies: [
                "KeyFile", "Deployment",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "keytool",
            dependencies: [
                "KeyFile", "Deployment", "ToolSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "miisactivate",
            dependencies: ["KeyFile", "Deployment", "ToolSupport"]
        ),
        .executableTarget(
            name: "miisserver",
            dependencies: [
                "KeyFile", "Deployment", "ToolSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "KeyFileTests",
            dependencies: ["KeyFile"],
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "DeploymentTests",
            dependencies: ["Deployment", "KeyFile", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "ToolSupportTests",
            dependencies: ["ToolSupport"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["KeyFile", "Deployment"],
            exclude: ["Support/pty_dialog.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
