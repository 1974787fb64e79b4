import Deployment
import ErrorReporting
import ToolSupport

extension Remedy {
    /// The remedy as miisserver and miisactivate say it: the command to run, in their syntax.
    package var commandLineText: String {
        switch self {
        case .setUpPrimary: return "set it up with miisserver setup --role primary"
        case .setUpAsStandby: return "set this server up with --role standby"
        case .registerStandby: return "register it with miisserver setup --role standby"
        case .repairInsteadOfSetup: return "use miisserver repair to change it"
        case .redirectPasswordSync(let server): return "redirect it first: miisserver password-sync --enable --target \(server)"
        case .useCurrentBackup: return "use a current backup (miisserver backup on the primary)"
        case .stopPrimaryOrForce: return "stop it first (and wait out the lease), or override with --force --reason TEXT"
        case .repairAccount: return "fix it with miisserver repair --account"
        case .repairAdminGroup: return "create a directory (LDAP/SSSD) group and run miisserver repair --admin-group NAME"
        case .repairInstallation: return "re-run miisserver repair"
        case .restoreKeySetAndRepair: return "restore it from a backup (miisserver backup) and run miisserver repair"
        case .rerunSetup: return "fix the cause and run the same miisserver setup again to finish it"
        case .finishKeySetChange: return "run the same miisserver keys command again: it installs the staged key set"
        case .rotateKeySet: return "rotate the key set first: miisserver keys rotate"
        case .stopPrimaryAndWait: return "stop it first and wait out the lease (an abandon cannot be forced past a live primary)"
        case .upgradeThisServer: return "install the primary's release on this server, then run miisserver upgrade on it"
        case .upgradeActiveServerFirst(let server): return "run miisserver upgrade on the active server \(server) first, then on this server"
        case .upgradeWithOwnerRole: return "run miisserver upgrade --database URL with the owner role's URL for this once"
        case .reprotectInstalledKeySet(let path, let account):
            return "re-protect it with the current password, or the next miisserver backup fails (exit \(ExitCodes.status(forClass: "wrongCredentials") ?? 11)): "
                + "keytool passwd \(shellWord(path)) --account \(shellWord(account)) --password-file OLD.pw --new-password-file CURRENT.pw"
        case .activateWithNewestBackup(let directory):
            return "miisactivate --dry-run \(shellWord(directory)) names the newest usable backup"
        case .locateInstallation:
            return "run the tool from <install>/Bin, or pass --install-dir DIR, or set \(ServerInstallation.environmentVariable)"
        }
    }
}

/// `text` as one shell word, to paste: single-quoted unless it is made of safe characters only.
private func shellWord(_ text: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,")
    if !text.isEmpty, text.allSatisfy(safe.contains) { return text }
    return "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// The remedies of the deployment tools' entry points (``ParsableCommand/runMain(toolName:arguments:remedies:)``).
package let deploymentRemedies: Remedies = { error in error.deploymentRemedy?.commandLineText }

extension DeploymentWarning {
    /// The warning as the deployment tools print it: its message and the remedy in their syntax.
    package var commandLineText: String { text { $0.commandLineText } }
}

/// The encoder `userInfo` under which a ``DeploymentWarning`` in a `--json` report encodes as
/// its ``DeploymentWarning/commandLineText``.
package let deploymentJSONUserInfo: [CodingUserInfoKey: any Sendable] = [
    DeploymentWarning.remedyTextKey: { @Sendable (remedy: Remedy) in remedy.commandLineText },
]
