/// An error a tool can report without knowing the library that threw it.
///
/// The libraries (`KeyFile`, `Deployment`) adopt it for their one error type each; the tools'
/// shared entry point (`ToolSupport`) maps ``errorClass`` to an exit status through its one
/// exit-code table. The libraries themselves carry no exit statuses, flag names or command hints:
/// those belong to the tools.
public protocol ReportableError: Error, Sendable {
    /// The stable class of the failure, such as `corrupted` or `fenced`: what scripts and the
    /// exit statuses key on. Classes never change meaning; new ones may be added.
    var errorClass: String { get }
    /// A stable, finer identifier within the class, such as `corrupted.checksum`.
    var errorCode: String { get }
    /// One line saying what is wrong, without secrets and without a trailing newline.
    var message: String { get }
}
