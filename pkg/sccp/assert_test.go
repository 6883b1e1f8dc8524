package sccp

import "github.com/cmed-project/cmed/pkg/dn"

// The core must keep offering what the session type-asserts for; a
// signature change there should fail here, not silently disable a feature.
var (
	_ dn.Device     = (*session)(nil)
	_ Switch        = (*dn.Switch)(nil)
	_ MediaReporter = (*dn.Switch)(nil)
	_ Forwarder     = (*dn.Switch)(nil)
	_ Transferrer   = (*dn.Switch)(nil)
)
