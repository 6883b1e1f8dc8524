package daemon

import (
	"context"
	"time"
)

// StartSSHForTest opens the SSH and telnet listeners for tests, for as
// long as startServices does not call startCLIListeners itself (it is
// idempotent, so the call is harmless afterwards). The listener stops with the daemon.
func (d *Daemon) StartSSHForTest() error {
	ctx, cancel := context.WithCancel(context.Background())
	stop := d.cancel
	d.cancel = func() { cancel(); stop() }
	if err := d.startCLIListeners(ctx, d.Running()); err != nil {
		cancel()
		return err
	}
	return nil
}

// PhoneFilesSettled waits (up to 10 s) until the background rebuilder has
// looked at every config scheduled so far and returns how many times it
// rebuilt the files since startup, or -1 if it did not settle.
func (d *Daemon) PhoneFilesSettled() int {
	p := &d.phoneFiles
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		p.mu.Lock()
		pending, rebuilt := p.pending, p.rebuilt
		p.mu.Unlock()
		if pending == 0 {
			return rebuilt
		}
	}
	return -1
}

// PhoneFile is a generated file as TFTP would serve it now.
func (d *Daemon) PhoneFile(name string) ([]byte, bool) { return d.phoneFiles.lookup(name) }
