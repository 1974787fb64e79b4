import Foundation
import Testing

/// The five safety invariants of issue 15, checked on a ``PartitionedDeployment`` after a faulty
/// run (every fault healed first, so that each host reaches the database): from the activation
/// log, the deployment row, every server's registration and every installation.
///
/// 1. at most one server considers itself active, and `miisserver check` passes on at most one
///    (the active server); no two installations recorded an activation at the same epoch; every
///    check that passed while the faults were on (``CheckObserver``) was by the server holding
///    the epoch it reported, and none was asked after an activation to a later epoch had been
///    acknowledged (exit 0) to its administrator;
/// 2. the activation rows' epochs are 2, 3, … without gaps or duplicates, and the row's epoch is
///    1 + their count;
/// 3. no heartbeat of a server is committed after the activation that ended its epoch (unless it
///    became active again); no secret write or key-set change carries an older epoch than one that
///    already existed: each writes a `changed` log row in its own transaction, with the epoch of
///    the deployment row that transaction saw, and that row must name the server holding that
///    epoch and come after (by log order) no activation of a later epoch;
/// 4. every activation that reported success (exit 0) is in the log, at the epoch it reported;
/// 5. no key file lost or half-written: every server that held the deployment has one, and every
///    key file present is intact (`keytool verify` without the password: the whole-file checksum).
enum InvariantChecker {
    struct Observation {
        var violations: [String] = []
        var epoch = 0
        var activations = 0
    }

    static func dates(_ text: Any?) -> Date? {
        guard let text = text as? String else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// `passingChecks`: what a ``CheckObserver`` saw while the faults were on.
    static func observe(_ deployment: PartitionedDeployment, passingChecks: [CheckObserver.Pass] = []) throws -> Observation {
        var observation = Observation()
        func violation(_ text: String) { observation.violations.append(text) }

        var statuses: [String: [String: Any]] = [:]
        for server in deployment.servers {
            let result = try deployment.miisserver(server, ["status", "--json"])
            if result.status == 0, let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] {
                statuses[server] = object
            } else {
                violation("status on \(server) failed (\(result.status)): \(result.stderr)")
            }
        }
        guard let any = deployment.servers.compactMap({ statuses[$0] }).first,
              let row = any["deployment"] as? [String: Any], let epoch = row["epoch"] as? Int,
              let active = row["activeServer"] as? String else {
            violation("no deployment row could be read")
            return observation
        }
        observation.epoch = epoch
        let historyResult = try deployment.miisserver(active, ["history", "--json"])
        let history = (try? JSONSerialization.jsonObject(with: Data(historyResult.stdout.utf8)) as? [String: Any])?["entries"]
            as? [[String: Any]] ?? []
        if historyResult.status != 0 { violation("history failed: \(historyResult.stderr)") }
        let activations = history.filter { ($0["outcome"] as? String) == "activated" }
        observation.activations = activations.count

        // 1. One active server; check passes on at most one, the active one.
        let activeInstallations = statuses.filter { (($0.value["installation"] as? [String: Any])?["state"] as? String) == "active" }.map { $0.key }
        if activeInstallations.count > 1 { violation("several installations consider themselves active: \(activeInstallations.sorted())") }
        var passing: [String] = []
        for server in deployment.servers {
            if try deployment.miisserver(server, ["check"]).status == 0 { passing.append(server) }
        }
        if passing.count > 1 || (passing.count == 1 && passing != [active]) {
            violation("miisserver check passes on \(passing) while the deployment's active server is \(active)")
        }
        var epochsByInstallation: [Int: [String]] = [:]
        for (server, status) in statuses {
            if let epoch = (status["installation"] as? [String: Any])?["activatedEpoch"] as? Int, epoch > 1 {
                epochsByInstallation[epoch, default: []].append(server)
            }
        }
        for (epoch, servers) in epochsByInstallation where servers.count > 1 {
            violation("installations \(servers.sorted()) all recorded an activation at epoch \(epoch)")
        }
        let setupPrimary = deployment.servers.first ?? ""
        // The server that held `epoch`: the setup primary for 1, else the one the log says activated at it.
        func holder(of epoch: Int) -> String? {
            epoch == 1 ? setupPrimary : activations.first(where: { ($0["epoch"] as? Int) == epoch })?["server"] as? String
        }
        for pass in passingChecks {
            if holder(of: pass.epoch) != pass.server {
                violation("miisserver check passed on \(pass.server) at epoch \(pass.epoch), which \(holder(of: pass.epoch) ?? "no server") held")
            }
            if let later = deployment.acknowledged.first(where: { $0.epoch > pass.epoch && $0.at < pass.askedAt }) {
                violation("miisserver check passed on \(pass.server) at epoch \(pass.epoch), asked after \(later.server)'s activation to epoch \(later.epoch) had returned success")
            }
        }

        // 2. Epochs grow by exactly one per activation row.
        let epochs = activations.compactMap { $0["epoch"] as? Int }
        if epochs != Array(stride(from: 2, to: 2 + activations.count, by: 1)) { violation("activation epochs \(epochs) are not 2, 3, …") }
        if epoch != 1 + activations.count { violation("the deployment is at epoch \(epoch) after \(activations.count) activations") }

        // 3. No heartbeat of a server after the activation that ended its epoch.
        let registrations = (any["servers"] as? [[String: Any]]) ?? []
        for registration in registrations {
            guard let name = registration["name"] as? String, name != active, let heartbeat = dates(registration["lastHeartbeat"]) else { continue }
            let ownEpoch = activations.filter { ($0["server"] as? String) == name }.compactMap { $0["epoch"] as? Int }.max()
                ?? (name == deployment.servers.first ? 1 : nil)
            guard let ownEpoch, let ended = activations.first(where: { ($0["epoch"] as? Int) == ownEpoch + 1 }),
                  let endedAt = dates(ended["time"]) else { continue }
            if heartbeat > endedAt { violation("\(name)'s heartbeat at \(heartbeat) was committed after epoch \(ownEpoch) ended at \(endedAt)") }
        }

        // 3, continued: secret writes and key-set changes. Their `changed` rows are the only record
        // with an epoch (the secrets and key_set_history rows carry none); the log's order is the
        // order in which the rows were inserted, and a fenced write inserts its row only after it
        // holds the deployment row (FOR SHARE or FOR UPDATE), so a stale write that got through
        // would show as a row of an older epoch after a newer activation, or as a row naming a
        // server that did not hold the epoch it recorded.
        for (index, entry) in history.enumerated() where (entry["outcome"] as? String) == "changed" {
            guard let detail = entry["detail"] as? String, detail.hasPrefix("secret '") || detail.hasPrefix("key set "),
                  let writer = entry["server"] as? String, let writeEpoch = entry["epoch"] as? Int else { continue }
            let epochHolder = holder(of: writeEpoch)
            if epochHolder != writer {
                violation("\(writer) committed \"\(detail)\" at epoch \(writeEpoch), which \(epochHolder ?? "no server") held")
            }
            if let newer = history[..<index].first(where: { ($0["outcome"] as? String) == "activated" && (($0["epoch"] as? Int) ?? 0) > writeEpoch }) {
                violation("\(writer) committed \"\(detail)\" at epoch \(writeEpoch) after epoch \(newer["epoch"] ?? "?") existed")
            }
        }

        // 4. Every acknowledged activation is in the log. The setup primary activated while it
        // still holds epoch 1 succeeds as "already the active server" at the setup's epoch, which
        // no activation row records (found by the first long `make chaos` run).
        for acknowledgement in deployment.acknowledged where !(acknowledgement.server == setupPrimary && acknowledgement.epoch == 1) {
            let (server, epoch) = (acknowledgement.server, acknowledgement.epoch)
            if !activations.contains(where: { ($0["server"] as? String) == server && ($0["epoch"] as? Int) == epoch }) {
                violation("the acknowledged activation of \(server) at epoch \(epoch) is not in the log")
            }
        }

        // 5. Every installation's key file is intact.
        // A standby that never activated has no key set installed, by design; every server that
        // held the deployment (the setup primary, every activated one) must still have its key
        // file, and every key file present must be whole.
        let holders = Set(activations.compactMap { $0["server"] as? String } + deployment.servers.prefix(1))
        for server in deployment.servers {
            let keyFile = deployment.installDirectory(server) + "/keys/keyset.bin"
            guard FileManager.default.fileExists(atPath: keyFile) else {
                if holders.contains(server) { violation("\(server) held the deployment but has no key file") }
                continue
            }
            let verify = try ToolRunner.run("keytool", ["verify", "--quiet", "--allow-weak-kdf", keyFile])
            if verify.status != 0 { violation("\(server)'s key file fails verification (\(verify.status)): \(verify.stderr)") }
        }
        return observation
    }

    /// Checks and records every violation as a test issue; returns the observation.
    @discardableResult
    static func expectHolds(_ deployment: PartitionedDeployment, _ label: String, passingChecks: [CheckObserver.Pass] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> Observation {
        let observation = try observe(deployment, passingChecks: passingChecks)
        for violation in observation.violations { Issue.record("\(label): \(violation)", sourceLocation: sourceLocation) }
        return observation
    }
}
