import ToolSupport

Keytool.runMain(toolName: "keytool")
