import ToolSupport

MiisServer.runMain(toolName: "miisserver")
