import Testing
@Suite struct DeploymentPlaceholder {}
