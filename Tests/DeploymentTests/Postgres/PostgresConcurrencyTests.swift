import Deployment
import Foundation
import Testing

@Suite("PostgreSQL store: concurrent activation (real server)")
struct PostgresConcurrencyTests {
    /// 16 standbys, each with its own store (its own connection), activate at once from the same
    /// epoch: exactly one wins, the others get `.conflict`, the epoch moves by exactly one and the
    /// log has exactly one `activated` row.
    @Test func sixteenConcurrentActivationsOneWinner() async throws {
        try await PostgresTestServer.withStore { setup, url in
            try await setup.register(PostgresSamples.server("primary-1", role: .primary), origin: .test)
            for index in 1...16 { try await setup.register(PostgresSamples.server("standby-\(index)"), origin: .test) }
            try await setup.createDeployment(PostgresSamples.deployment(), checkValues: PostgresSamples.checkValues, origin: .test)

            let stores = try (1...16).map { _ in try PostgresTestServer.store(url) }
            // Connect every store first so the activations really overlap.
            for store in stores { try await store.connect() }
            let outcomes = await withTaskGroup(of: (String, Result<DeploymentState, DeploymentError>).self) { group in
                for (index, store) in stores.enumerated() {
                    let server = "standby-\(index + 1)"
                    group.addTask {
                        do {
                            return (server, .success(try await store.activate(PostgresSamples.request(server, epoch: 1))))
                        } catch let error as DeploymentError {
                            return (server, .failure(error))
                        } catch {
                            return (server, .failure(DeploymentError(.database, "unexpected \(error)")))
                        }
                    }
                }
                var all: [(String, Result<DeploymentState, DeploymentError>)] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            for store in stores { try await store.close() }

            let winners = outcomes.compactMap { server, result -> (String, DeploymentState)? in
                if case .success(let state) = result { return (server, state) }
                return nil
            }
            let failures = outcomes.compactMap { _, result -> DeploymentError? in
                if case .failure(let error) = result { return error }
                return nil
            }
            #expect(winners.count == 1)
            #expect(failures.count == 15)
            #expect(failures.allSatisfy { $0.kind == .conflict }, "\(failures.filter { $0.kind != .conflict }.map(\.message))")
            let winner = try #require(winners.first)
            #expect(winner.1.epoch == 2)
            let state = try #require(try await setup.deployment())
            #expect(state.epoch == 2)
            #expect(state.activeServer == winner.0)
            let log = try await setup.activationAttempts()
            #expect(log.count == 1)
            #expect(log.first?.server == winner.0)
            #expect(log.first?.outcome == .activated)
        }
    }
}
