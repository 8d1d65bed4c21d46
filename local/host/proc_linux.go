package host

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel stop the handler if the host dies
// without cleaning up, so no orphan keeps the port and the SQLite file.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
