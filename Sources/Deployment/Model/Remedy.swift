/// What an administrator does next about a deployment failure or warning, named by intent.
///
/// The library knows *what* fixes a failure; the tools know *how* it is spelled on their command
/// line (`DeploymentCommandLine`), so no flag or command name lives in this library.
public enum Remedy: Sendable, Equatable {
    /// The database has no deployment: set up its primary.
    case setUpPrimary
    /// The deployment already has a primary: set this server up as a standby.
    case setUpAsStandby
    /// This server is not registered: register it as a standby.
    case registerStandby
    /// The server is already set up: change it with a repair instead.
    case repairInsteadOfSetup
    /// Password synchronization points at another server: redirect it to `server`.
    case redirectPasswordSync(to: String)
    /// The key file is stale or foreign: use a current backup, taken on the primary.
    case useCurrentBackup
    /// The primary is alive: stop it and wait out the lease, or force the takeover with a reason.
    case stopPrimaryOrForce
    /// The key file's account is not the installation's: repair the installation's account.
    case repairAccount
    /// The administrators' group is missing or local: create a directory group, repair the installation.
    case repairAdminGroup
    /// The installation's configuration is invalid: repair the installation.
    case repairInstallation
    /// The installed key set is not the deployment's: restore it from a backup, then repair.
    case restoreKeySetAndRepair
    /// A setup failed after its point of no return and kept the installation: fix the cause and run the same setup again.
    case rerunSetup
    /// The installation was not found: say where it is.
    case locateInstallation
    /// A key-set change committed but its key file is not installed yet: run the same change again.
    case finishKeySetChange
    /// The key set must get a new primary first (or re-encrypt its secrets): rotate it.
    case rotateKeySet
    /// The primary is alive and nothing may override it (an abandon): stop it and wait out the lease.
    case stopPrimaryAndWait
    /// This server's software is older than the deployment's (the reference's 0x80230443): install
    /// the primary's release here, then upgrade this server's registration.
    case upgradeThisServer
    /// Only the active primary migrates the schema: upgrade `server` (the active one) first.
    case upgradeActiveServerFirst(String)
    /// The database role may not alter the schema: upgrade through the owner role's location.
    case upgradeWithOwnerRole
    /// The installed key file (`path`) opens only with an older password than the newest backup's:
    /// re-protect it with the current password so the next backup can open it.
    case reprotectInstalledKeySet(path: String, account: String)
    /// A newer usable backup exists in `directory`: let the backup chooser name it.
    case activateWithNewestBackup(directory: String)
}
