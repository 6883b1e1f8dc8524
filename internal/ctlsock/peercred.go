package ctlsock

import (
	"fmt"
	"net"
	"syscall"
)

// checkPeer reads the connecting process's credentials (SO_PEERCRED, see
// unix(7)) and admits only uid and root. Connections that are not unix
// sockets (tests using pipes) carry no credentials and are admitted: the
// listener, not this check, decides who can reach them.
func checkPeer(c net.Conn, uid int) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("cannot read peer credentials: %w", credErr)
	}
	if int(cred.Uid) != uid && cred.Uid != 0 {
		return fmt.Errorf("uid %d may not use this daemon's control socket (owner uid %d)", cred.Uid, uid)
	}
	return nil
}
