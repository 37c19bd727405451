package testenv

import "syscall"

// procAttr makes the kernel kill a component when the test binary dies,
// however it dies (a failed test, a timeout panic, SIGKILL).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
