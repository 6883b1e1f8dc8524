package daemon

import "context"

// StartSSHForTest opens the SSH listener for tests until ctx ends, for as
// long as startServices does not call startSSH itself (it is idempotent, so
// the call is harmless afterwards).
func (d *Daemon) StartSSHForTest(ctx context.Context) error { return d.startSSH(ctx, d.Running()) }
