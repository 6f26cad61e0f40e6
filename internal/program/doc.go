// Package program is how gpuplane's programs (cmd/webhook, cmd/nodeagent,
// cmd/extender) are built, so that the three behave alike on the command
// line:
//
//   - Main is all a main function does: it runs a Command with the process's
//     arguments and streams until SIGINT or SIGTERM and exits with its code.
//   - A Command is the program's command line. Each program's app package
//     builds it with a constructor that takes the run function, so tests
//     drive the flags and capture the final configuration without starting
//     anything.
//   - Flags holds the flags in sections (component-base's NamedFlagSets):
//     the program's own first, then the logging flags of component-base's
//     logs API (-v, --vmodule, --logging-format). --help prints the usage
//     and the sections, in that order, on standard output.
//   - Exit codes are the same everywhere: ExitOK, ExitFailure, ExitUsage.
//     Exit turns the error a command ends with into its code and message.
//   - WithLogging applies the logging flags to klog and puts the logger in
//     the context of the run function, which takes it with
//     klog.FromContext(ctx).
//
// The HTTP servers of the programs are started with internal/httpserver.
// This package imports nothing of gpuplane.
package program
