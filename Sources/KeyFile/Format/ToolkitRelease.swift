/// The release of this build of the toolkit: what every tool's `--version` prints and what a
/// server installation records as its software version. One constant, so that the three tools
/// and the deployment's schema catalogue never disagree.
public enum ToolkitRelease {
    public static let version = "1.3.0"
}
